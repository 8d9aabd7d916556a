package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/peerbridge/peerbridge/internal/repo"
	"github.com/peerbridge/peerbridge/internal/serve"
)

// TestMakeRunExitsZeroOnCtrlC: `make run` in a terminal, then Ctrl-C (the terminal's
// interrupt character, which the terminal turns into SIGINT for its foreground process
// group, as when a person presses it): serve shuts down cleanly and make exits 0, not
// 130 (make re-raises a SIGINT it receives, whatever its recipe did).
func TestMakeRunExitsZeroOnCtrlC(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "run",
		"ARGS=--addr 127.0.0.1:0 --sandbox-addr 127.0.0.1:0 --aws-addr= --admin-addr= --reconcile-every 0")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), serve.AdminDirEnv+"="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir()) // not the user's files
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				chunks <- bytes.Clone(buf[:n])
			}
			if err != nil { // EIO once make has exited
				return
			}
		}
	}()
	var out bytes.Buffer
	interrupted := false
	for c := range chunks {
		out.Write(c)
		// serve prints its "try" line once every listener is up.
		if !interrupted && strings.Contains(out.String(), "  try  ") {
			if _, err := f.Write([]byte{3}); err != nil { // Ctrl-C
				t.Fatal(err)
			}
			interrupted = true
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("make run did not end within 5 minutes:\n%s", out.String())
	}
	if !interrupted || err != nil {
		t.Fatalf("make run: interrupted %v, exit %v, want 0:\n%s", interrupted, err, out.String())
	}
	if !strings.Contains(out.String(), "shutting down") || !strings.Contains(out.String(), "stopped:") {
		t.Errorf("serve did not shut down on Ctrl-C:\n%s", out.String())
	}
}
