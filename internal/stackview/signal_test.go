package stackview

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/operate/operatetest"
)

// TestTailCleansUpOnSignal runs a tail in a process of its own, as `peerbridge console
// --stack` runs it (its context ends on SIGINT, SIGTERM or SIGHUP), sends it the signal
// once its rule and queue exist, and checks that the process exits 0 and they are gone.
func TestTailCleansUpOnSignal(t *testing.T) {
	t.Parallel() // a stack of its own
	stack := operatetest.Deploy(t)
	v, err := Open(context.Background(), mototest.Config(t), stack, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTailHelperProcess$")
		cmd.Env = append(os.Environ(), "STACKVIEW_HELPER_STACK="+stack, "MOTO_ENDPOINT="+mototest.Endpoint(t))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		var rule string
		for lines.Scan() {
			if r, ok := strings.CutPrefix(lines.Text(), "tailing "); ok {
				rule = r
				break
			}
		}
		if rule == "" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v: the helper did not start tailing", sig)
		}
		if left := tapLeft(t, v, rule); len(left) != 2 {
			t.Errorf("%v: while tailing %v, want its rule and queue", sig, left)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(out)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: helper exited %v: %s", sig, err, rest)
		}
		if !strings.Contains(string(rest), "stopped") {
			t.Errorf("%v: helper said %q", sig, rest)
		}
		if left := tapLeft(t, v, rule); len(left) != 0 {
			t.Errorf("%v: left after the signal: %v", sig, left)
		}
	}
}

// TestTailHelperProcess is the child of TestTailCleansUpOnSignal.
func TestTailHelperProcess(t *testing.T) {
	stack := os.Getenv("STACKVIEW_HELPER_STACK")
	if stack == "" {
		t.Skip("the child process of TestTailCleansUpOnSignal")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// The parent's moto, not a server of its own.
	cfg := aws.Config{Region: mototest.Region, BaseEndpoint: aws.String(os.Getenv("MOTO_ENDPOINT")),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	v, err := Open(ctx, cfg, stack, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// As a command runs it: the tail in the background, stopped (and so cleaned up)
	// before the process exits.
	tail := v.StartTail(ctx)
	defer tail.Stop()
	waitTail(t, v, "running", func(s TailState) bool { return s.State != TailIdle && s.State != TailStarting })
	s, _ := v.TailStatus()
	fmt.Printf("tailing %s\n", s.Rule)
	<-ctx.Done()
	if err := tail.Stop(); err != nil {
		t.Fatal(err)
	}
	s, _ = v.TailStatus()
	fmt.Printf("%s\n", s.State)
}
