//go:build saminvoke

// The invoke tests build every function and run it under the Lambda emulator: they run in
// `make sam-test` (go test -tags saminvoke -run Invoke ./cmd/peerbridge/).

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/serve"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// localStack is a serve stack for invoke --local to reach, with every bus event kept.
type localStack struct {
	*serve.Stack
	mu     sync.Mutex
	events []membus.Event
}

func startLocalStack(t *testing.T) *localStack {
	t.Helper()
	ls := &localStack{}
	t.Setenv(serve.AdminDirEnv, t.TempDir()) // invoke --local finds the serve's credentials there
	s, err := serve.Start(context.Background(), serve.Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0",
		Token: "serve-token", Template: filepath.Join("..", "..", "template.yaml"), Params: map[string]string{}, LogLevel: "error",
		BusHook: func(b *membus.Bus) {
			b.Subscribe(func(e membus.Event) { ls.mu.Lock(); ls.events = append(ls.events, e); ls.mu.Unlock() })
		}}, &servetest.SyncBuffer{}, &servetest.SyncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	ls.Stack = s
	t.Cleanup(func() {
		if err := s.Shutdown(ctxTimeout(t, 30*time.Second)); err != nil {
			t.Error(err)
		}
	})
	return ls
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// drained waits until the pipeline has handled all it took (the actions included), and
// returns the bus's events so far.
func (ls *localStack) drained(t *testing.T) []membus.Event {
	t.Helper()
	if err := ls.Drain(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return slices.Clone(ls.events)
}

// invokeLocal runs `peerbridge invoke FUNCTION --event FILE --local` against ls and
// returns the function's answer.
func invokeLocal(t *testing.T, ls *localStack, function, file string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"invoke", function, "--event", filepath.Join("..", "..", file), "--local",
		"--local-endpoint", ls.Local().AWSEndpoint, "--template", filepath.Join("..", "..", "template.yaml")}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("invoke %s %s: exit %d\n%s", function, file, code, stderr.String())
	}
	if strings.Contains(stderr.String(), "local-test-key") || strings.Contains(stderr.String(), "peerdomtest-key") {
		t.Errorf("invoke %s %s: the log holds the API key", function, file)
	}
	return bytes.TrimSpace(stdout.Bytes())
}

// ingestStatus is what each events/ingest file must be answered: the expectations of
// internal/samapp's emulator tests.
var ingestStatus = map[string]int{
	"bad-base64": 400, "bad-body-empty": 400, "bad-body-not-json": 400, "bad-body-not-object": 400,
	"bad-text-empty": 400, "bad-text-missing": 400, "bad-text-not-string": 400,
	"bad-token": 401, "too-large": 413, "too-large-event": 413,
	"base64-body": 200, "test-url": 200,
	"group-created": 200, "group-deleted": 200, "group-updated": 200,
	"peer-created": 200, "peer-deleted": 200, "peer-updated": 200,
	"role-created": 200, "role-deleted": 200, "role-updated": 200,
}

func TestInvokeLocalIngestEveryFile(t *testing.T) {
	ls := startLocalStack(t)
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "ingest", "*.json"))
	if len(files) != len(ingestStatus) {
		t.Errorf("%d files in events/ingest, %d expectations here: add the new file's", len(files), len(ingestStatus))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		want, ok := ingestStatus[name]
		if !ok {
			t.Errorf("events/ingest/%s.json: no expectation", name)
			continue
		}
		before := len(ls.drained(t))
		var a struct {
			StatusCode int
			Body       string
		}
		answer := invokeLocal(t, ls, "IngestFunction", "events/ingest/"+name+".json")
		if err := json.Unmarshal(answer, &a); err != nil || a.StatusCode != want {
			t.Errorf("%s: answer %s (%v), want status %d", name, answer, err, want)
			continue
		}
		evs := ls.drained(t)[before:]
		if want != 200 {
			if len(evs) != 0 {
				t.Errorf("%s: refused, yet %d events reached the bus", name, len(evs))
			}
			continue
		}
		var body struct{ ID string }
		_ = json.Unmarshal([]byte(a.Body), &body)
		found := false
		for _, e := range evs {
			if d, err := peerdom.DecodeDetail([]byte(e.Entry.Detail)); err == nil && d.ID == body.ID {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no event on serve's bus for delivery %q", name, body.ID)
		}
	}
}

func TestInvokeLocalWorkerEveryFile(t *testing.T) {
	ls := startLocalStack(t)
	for file, failed := range map[string][]int{"batch": nil, "batch-with-bad-envelope": {1}} {
		var batch struct {
			Records []struct{ MessageID, Body string }
		}
		b, err := os.ReadFile(filepath.Join("..", "..", "events", "worker", file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &batch); err != nil {
			t.Fatal(err)
		}
		before := len(ls.drained(t))
		var answer struct {
			BatchItemFailures []struct{ ItemIdentifier string }
		}
		if err := json.Unmarshal(invokeLocal(t, ls, "WorkerFunction", "events/worker/"+file+".json"), &answer); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, f := range answer.BatchItemFailures {
			got = append(got, f.ItemIdentifier)
		}
		wantIDs := map[string]bool{}
		for i, r := range batch.Records {
			if slices.Contains(failed, i) {
				want = append(want, r.MessageID)
				continue
			}
			d, err := peerdom.DecodeDelivery([]byte(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			wantIDs[d.ID] = true
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: failed items %v, want %v", file, got, want)
		}
		for _, e := range ls.drained(t)[before:] {
			if d, err := peerdom.DecodeDetail([]byte(e.Entry.Detail)); err == nil {
				delete(wantIDs, d.ID)
			}
		}
		if len(wantIDs) != 0 {
			t.Errorf("%s: deliveries %v reached no event on serve's bus", file, wantIDs)
		}
	}
}

func TestInvokeLocalActionsEveryFile(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*", "*.json"))
	checked := 0
	for _, f := range files {
		dir := filepath.Base(filepath.Dir(f))
		if dir == "ingest" || dir == "worker" || dir == "schemas" {
			continue
		}
		checked++
		name := dir + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			ls := startLocalStack(t) // each on a fresh sandbox
			function := map[string]string{"onboard-peer": "OnboardPeerFunction", "role-defaults": "RoleDefaultsFunction", "enrich": "EnrichFunction", "reconcile": "ReconcileFunction"}[dir]
			answer := invokeLocal(t, ls, function, "events/"+name+".json")
			if bytes.Contains(answer, []byte("errorMessage")) {
				t.Fatalf("answer %s", answer)
			}
			evs := ls.drained(t)
			sb := ls.Sandbox()
			switch name {
			case "onboard-peer/peer-created":
				holds := func() int {
					n := 0
					for _, h := range sb.Holders() {
						if h.PeerID == webhooksamples.PeerID && h.RoleID == serve.SandboxOnboardingRoleID {
							n++
						}
					}
					return n
				}
				writes := len(sb.Writes())
				if holds() != 1 {
					t.Errorf("the peer holds the onboarding role %d times, want 1", holds())
				}
				invokeLocal(t, ls, function, "events/"+name+".json") // delivered again
				ls.drained(t)
				if holds() != 1 || len(sb.Writes()) != writes {
					t.Errorf("redelivered: holds %d, writes %d, want 1 and %d", holds(), len(sb.Writes()), writes)
				}
			case "onboard-peer/peer-created-by-api-user":
				if len(sb.Writes()) != 0 {
					t.Errorf("the action acted on its own API user's change: %v", sb.Writes())
				}
			case "role-defaults/role-created":
				role, _ := sb.Role(webhooksamples.RoleID)
				got := map[string][]string{}
				for _, f := range role.CustomFields {
					got[f.Name] = f.Values
				}
				if !slices.Equal(got["Domain"], []string{"To be defined"}) {
					t.Errorf("custom fields %v, want Domain filled from events/env.json's ROLE_DEFAULTS", got)
				}
			case "enrich/role-updated":
				var cause struct{ Detail json.RawMessage }
				b, _ := os.ReadFile(f)
				_ = json.Unmarshal(b, &cause)
				d, _ := peerdom.DecodeDetail(cause.Detail)
				ok := false
				for _, e := range evs {
					var snap struct{ CausedBy, EntityID string }
					_ = json.Unmarshal([]byte(e.Entry.Detail), &snap)
					ok = ok || e.Entry.DetailType == "Role Snapshot" && snap.CausedBy == d.ID && snap.EntityID == webhooksamples.RoleID
				}
				if !ok {
					t.Errorf("no Role Snapshot caused by %s on serve's bus", d.ID)
				}
			case "reconcile/scheduled":
				// A fresh process with no STATE_TABLE keeps its state in memory: every
				// invocation is a first run, which lists the sandbox and publishes nothing.
				var rep struct {
					Baseline  bool
					Listed    map[string]int
					Published int
				}
				if err := json.Unmarshal(answer, &rep); err != nil {
					t.Fatalf("answer %s: %v", answer, err)
				}
				if !rep.Baseline || rep.Listed["peer"] == 0 || rep.Listed["role"] == 0 || rep.Published != 0 || len(evs) != 0 {
					t.Errorf("report %+v and %d events on serve's bus; want a baseline of the sandbox's entities publishing nothing", rep, len(evs))
				}
			default:
				t.Errorf("no check for events/%s.json", name)
			}
		})
	}
	if checked < 4 {
		t.Errorf("%d action event files, want at least 4", checked)
	}
}

// TestInvokeInitFailure: a function whose init fails (ingest without QUEUE_URL) under
// `peerbridge invoke`: Lambda's error object on stdout, as sam local invoke prints it, the
// function's own reason on stderr, and exit status 1.
func TestInvokeInitFailure(t *testing.T) {
	env := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(env, []byte(`{"IngestFunction": {"QUEUE_URL": ""}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"invoke", "IngestFunction", "--env-vars", env,
		"--template", filepath.Join("..", "..", "template.yaml")}, nil, &stdout, &stderr)
	var obj struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &obj); err != nil || code != 1 || obj.Type != "Runtime.ExitError" || !strings.Contains(obj.Message, "exit status 1") {
		t.Errorf("exit %d, stdout %q (%v), want exit 1 and Runtime.ExitError's object\n%s", code, stdout.String(), err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "QUEUE_URL is not set") || !strings.Contains(stderr.String(), "init failed") {
		t.Errorf("stderr lacks the function's reason or the init failure:\n%s", stderr.String())
	}
}
