package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/serve"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// TestServeCommandDrainsOnSignal runs `peerbridge serve` as a user does, sends webhooks,
// then cancels its context as SIGINT does: everything acknowledged is handled before it
// exits 0, and --events-out has them all.
func TestServeCommandDrainsOnSignal(t *testing.T) {
	eventsOut := filepath.Join(t.TempDir(), "events.jsonl")
	adminDir := t.TempDir()
	t.Setenv(serve.AdminDirEnv, adminDir)
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // serve's default data dir: not the user's
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errOut := &servetest.SyncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--token", "sig-token",
			"--template", filepath.Join("..", "..", "template.yaml"), "--events-out", eventsOut}, strings.NewReader(""), pw, errOut)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var endpoint string
	for endpoint == "" && lines.Scan() {
		if _, url, ok := strings.Cut(lines.Text(), "webhook endpoint  POST "); ok {
			endpoint = url
		}
	}
	var rest servetest.SyncBuffer
	go io.Copy(&rest, pr)
	if endpoint == "" {
		t.Fatalf("serve printed no endpoint; stderr: %s", errOut.String())
	}
	if c, out, e := runCLI(t, "", "status", "--local"); c != 0 || !strings.Contains(out, "serve (local)") {
		t.Errorf("status --local against the serve command: %d %s %s", c, out, e)
	}
	kinds := webhooksamples.Kinds()
	acked := map[string]string{} // delivery id -> kind
	for range 3 {                // each kind three times: three deliveries, three events
		for _, kind := range kinds {
			body, _ := webhooksamples.Body(kind)
			resp, err := http.Post(endpoint, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var ans struct{ ID string }
			json.NewDecoder(resp.Body).Decode(&ans)
			resp.Body.Close()
			if resp.StatusCode != 200 || ans.ID == "" {
				t.Fatalf("%s: %d %q", kind, resp.StatusCode, ans.ID)
			}
			acked[ans.ID] = kind
		}
	}
	cancel() // what SIGINT does to main's context
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; stderr: %s", c, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if left, _ := filepath.Glob(filepath.Join(adminDir, "*")); len(left) > 0 {
		t.Errorf("serve left its admin file: %v", left)
	}
	b, err := os.ReadFile(eventsOut)
	if err != nil {
		t.Fatal(err)
	}
	received := map[string]int{} // delivery id -> events
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev struct {
			Detail struct {
				ID string `json:"id"`
			} `json:"detail"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Detail.ID != "" {
			received[ev.Detail.ID]++
		}
	}
	for id, kind := range acked {
		if received[id] != 1 {
			t.Errorf("the %s webhook %s, acknowledged before the signal, is in --events-out %d times, want 1", kind, id, received[id])
		}
	}
	if len(acked) != 3*len(kinds) {
		t.Errorf("%d distinct delivery ids for %d webhooks", len(acked), 3*len(kinds))
	}
	if !strings.Contains(rest.String(), "stopped: ") {
		t.Errorf("no closing summary in: %s", rest.String())
	}
}

// TestServePeerdomURLNamesMissingParams: with a real Peerdom, serve says which action
// will not run for want of which parameter, and runs those that have theirs (before,
// every action was off, silently, since the template's API-key condition was false).
func TestServePeerdomURLNamesMissingParams(t *testing.T) {
	t.Setenv("PEERDOM_API_KEY", "k")
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // serve's default data dir: not the user's
	serve := func(extra ...string) (int, string) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // start, then stop at once
		var out, errOut bytes.Buffer
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0", "--template", filepath.Join("..", "..", "template.yaml"),
			"--peerdom-url", "http://127.0.0.1:1/v1", "--admin-addr", ""}, extra...)
		code := run(ctx, args, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := serve()
	if code != 0 || !strings.Contains(out, "! OnboardPeerFunction does not run: give --param OnboardingRoleIds=") ||
		!strings.Contains(out, "! RoleDefaultsFunction does not run: give --param RoleDefaults=") || !strings.Contains(out, "rule              EnrichFunction.") {
		t.Errorf("without the parameters: exit %d:\n%s", code, out)
	}
	code, out = serve("--param", "OnboardingRoleIds=r1")
	if code != 0 || strings.Contains(out, "OnboardPeerFunction does not run") || !strings.Contains(out, "rule              OnboardPeerFunction.") ||
		!strings.Contains(out, "RoleDefaultsFunction does not run") {
		t.Errorf("with OnboardingRoleIds: exit %d:\n%s", code, out)
	}
	if _, out = serve("--no-actions"); strings.Contains(out, "does not run") {
		t.Errorf("--no-actions warns of actions:\n%s", out)
	}
}
