package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// startAdminStack starts serve with its admin endpoint on a free loopback port, its
// admin file in a temporary directory (PEERBRIDGE_ADMIN_DIR, as the CLI reads it), and
// a bus that fails every PutEvents while busDown is set.
func startAdminStack(t *testing.T, busDown *atomic.Bool) (*serve.Stack, string) {
	t.Helper()
	t.Setenv(serve.AdminDirEnv, t.TempDir())
	eventsOut := filepath.Join(t.TempDir(), "events.jsonl")
	out := &servetest.SyncBuffer{}
	opts := serve.Options{
		Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Token: "test-token",
		Template: filepath.Join("..", "..", "template.yaml"), EventsOut: eventsOut, LogLevel: "error",
		DrainFor: 20 * time.Second,
		BusHook: func(b *membus.Bus) {
			b.FailCall = func([]bus.Entry) error {
				if busDown.Load() {
					return errors.New("injected: the bus is unreachable")
				}
				return nil
			}
		},
	}
	s, err := serve.Start(context.Background(), opts, out, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if _, err := os.Stat(s.AdminFile()); !os.IsNotExist(err) {
			t.Errorf("the admin file is still there after shutdown: %v", err)
		}
	})
	if s.AdminFile() == "" || !strings.Contains(out.String(), s.AdminFile()) {
		t.Errorf("serve does not say where its admin file is:\n%s", out)
	}
	return s, eventsOut
}

// TestServeAdminDeadLetterRedrive: a webhook the worker cannot publish (the bus is down)
// is dead-lettered after its receives; dlq list --local shows it with the worker's
// error, status --local counts it, and once the bus is back dlq redrive --local moves it
// back and it is published once.
func TestServeAdminDeadLetterRedrive(t *testing.T) {
	var busDown atomic.Bool
	busDown.Store(true)
	s, eventsOut := startAdminStack(t, &busDown)
	servetest.SendKind(t, s.WebhookURL(), "peer-created")
	// A queue message that is no envelope: the worker can never publish it.
	if err := s.Pipeline().Queue.Send(context.Background(), "not an envelope"); err != nil {
		t.Fatal(err)
	}
	servetest.WaitFor(t, "two dead letters", func() bool { return len(s.Pipeline().Queue.DeadLetters()) == 2 })

	code, stdout, stderr := runCLI(t, "", "dlq", "list", "--local")
	if code != 0 {
		t.Fatalf("dlq list --local: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "WHY IT FAILED") || !strings.Contains(stdout, "injected: the bus is unreachable") {
		t.Errorf("dlq list --local does not show the bus's error:\n%s", stdout)
	}
	code, stdout, _ = runCLI(t, "", "dlq", "list", "--local", "--json")
	var letters []operate.DeadLetter
	if code != 0 || json.Unmarshal([]byte(stdout), &letters) != nil || len(letters) != 2 {
		t.Fatalf("dlq list --local --json: %d %s", code, stdout)
	}
	var delivery, junk operate.DeadLetter
	for _, l := range letters {
		if l.DeliveryID != "" {
			delivery = l
		} else {
			junk = l
		}
	}
	if delivery.ReceiveCount != 5 || delivery.ReceivedAt.IsZero() || !strings.Contains(delivery.Reason, "injected") || delivery.Body != "" {
		t.Errorf("the delivery's dead letter: %+v", delivery)
	}
	if junk.MessageID == "" || junk.Reason == "" || strings.Contains(junk.Reason, "injected") {
		t.Errorf("the non-envelope's dead letter should give the worker's decoding error: %+v", junk)
	}
	code, stdout, _ = runCLI(t, "", "dlq", "show", "--local", "--id", delivery.DeliveryID)
	if code != 0 || !strings.Contains(stdout, `"receivedAt"`) {
		t.Errorf("dlq show --local: %d\n%s", code, stdout)
	}

	code, stdout, _ = runCLI(t, "", "status", "--local", "--json")
	var st operate.Status
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil {
		t.Fatalf("status --local --json: %d %s", code, stdout)
	}
	if st.DLQs[0].Visible != 2 || st.DLQs[1].Visible != 0 || st.LastHour["WebhooksAccepted"] != 1 || st.LastHour["DeliveriesFailed"] != 10 {
		t.Errorf("status --local: %+v", st)
	}
	if strings.Contains(stdout, "test-token") || !strings.Contains(st.WebhookURL, "/webhooks/<token>") {
		t.Errorf("status shows the webhook token: %s", st.WebhookURL)
	}
	code, stdout, _ = runCLI(t, "", "status", "--local")
	if code != 0 || !strings.Contains(stdout, "webhooks DLQ") || !strings.Contains(stdout, "WebhooksAccepted") || strings.Contains(stdout, "alarms") {
		t.Errorf("status --local:\n%s", stdout)
	}

	busDown.Store(false)
	code, stdout, stderr = runCLI(t, "", "dlq", "redrive", "--local", "--id", delivery.DeliveryID)
	if code != 0 || !strings.Contains(stdout, "Moved 1 ") {
		t.Fatalf("dlq redrive --local: %d %s %s", code, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.Pipeline().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Sandbox().WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Pipeline().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(eventsOut)
	if n := strings.Count(string(raw), `"detail-type":"Peer Created"`); n != 1 {
		t.Errorf("the redriven webhook made %d Peer Created events, want 1", n)
	}
	dead := s.Pipeline().Queue.DeadLetters()
	if len(dead) != 1 || dead[0].ID != junk.MessageID {
		t.Errorf("after redrive the dead letters are %+v, want only the non-envelope", dead)
	}
	// Redriving it again finds nothing: it is moved once.
	code, _, stderr = runCLI(t, "", "dlq", "redrive", "--local", "--id", delivery.DeliveryID)
	if code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("a second redrive of the same delivery: %d %s", code, stderr)
	}
}

// TestServeAdminRefuses: the admin endpoint needs its token, listens on loopback only,
// and the CLI says what to do when no serve runs or the token is not the serve's.
func TestServeAdminRefuses(t *testing.T) {
	var busDown atomic.Bool
	s, _ := startAdminStack(t, &busDown)
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + readAdminInfo(t, s.AdminFile()).Token + "x"} {
		req, _ := http.NewRequest(http.MethodGet, s.AdminURL()+"/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}

	// Not reachable through this machine's other addresses.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.AdminURL(), "http://"))
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ip, _, _ := net.ParseCIDR(a.String())
		if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), port), time.Second); err == nil {
			c.Close()
			t.Errorf("the admin endpoint answers on %s", ip)
		}
	}

	// The admin file with a wrong token: refused, and the token is never printed.
	dir := os.Getenv(serve.AdminDirEnv)
	raw, _ := os.ReadFile(s.AdminFile())
	var info serve.AdminInfo
	json.Unmarshal(raw, &info)
	wrongDir := t.TempDir()
	wrong := filepath.Join(wrongDir, "admin-wrong.json")
	bad := info
	bad.Token = "not-the-token-0123456789"
	b, _ := json.Marshal(bad)
	os.WriteFile(wrong, b, 0o600)
	t.Setenv(serve.AdminDirEnv, wrongDir)
	code, stdout, stderr := runCLI(t, "", "status", "--local")
	if code != 1 || !strings.Contains(stderr, "refused the token") || strings.Contains(stdout+stderr, bad.Token) || strings.Contains(stdout+stderr, info.Token) {
		t.Errorf("status --local with a wrong token: %d %q %q", code, stdout, stderr)
	}

	// No serve: no admin file, or one left by a serve that has stopped.
	t.Setenv(serve.AdminDirEnv, t.TempDir())
	if code, _, stderr := runCLI(t, "", "dlq", "list", "--local"); code != 1 || !strings.Contains(stderr, "no serve is running") || !strings.Contains(stderr, "make run") {
		t.Errorf("dlq list --local with no serve: %d %s", code, stderr)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	stale := info
	stale.URL = "http://" + ln.Addr().String()
	ln.Close()
	b, _ = json.Marshal(stale)
	os.WriteFile(wrong, b, 0o600)
	t.Setenv(serve.AdminDirEnv, wrongDir)
	if code, _, stderr := runCLI(t, "", "status", "--local"); code != 1 || !strings.Contains(stderr, "no serve answers") || !strings.Contains(stderr, "make run") {
		t.Errorf("status --local with a stopped serve: %d %s", code, stderr)
	}
	t.Setenv(serve.AdminDirEnv, dir)
}

// TestServeAdminEventRedrive: an action that fails every retry dead-letters its event;
// dlq list --local --queue events shows it with the action's error, and dlq redrive
// --local --queue events hands it back to its function, which then succeeds.
func TestServeAdminEventRedrive(t *testing.T) {
	var busDown atomic.Bool
	s, _ := startAdminStack(t, &busDown)
	// Onboarding's write fails on its attempt and both retries (template: 2).
	s.Sandbox().InjectFault(peerdomtest.Fault{Method: http.MethodPost, Path: "/roles", Status: http.StatusBadRequest, Times: 3})
	servetest.SendKind(t, s.WebhookURL(), "peer-created")
	servetest.WaitFor(t, "a dead action event", func() bool { return len(s.Pipeline().DeadActions()) == 1 })

	code, stdout, stderr := runCLI(t, "", "dlq", "list", "--local", "--queue", "events", "--json")
	var letters []operate.DeadLetter
	if code != 0 || json.Unmarshal([]byte(stdout), &letters) != nil || len(letters) != 1 {
		t.Fatalf("dlq list --local --queue events: %d %s %s", code, stdout, stderr)
	}
	l := letters[0]
	if l.DetailType != "Peer Created" || l.Target != "OnboardPeerFunction" || !strings.Contains(l.Reason, "400") {
		t.Errorf("the dead event: %+v", l)
	}
	code, stdout, _ = runCLI(t, "", "status", "--local", "--json")
	var st operate.Status
	json.Unmarshal([]byte(stdout), &st)
	if code != 0 || st.DLQs[1].Visible != 1 || st.LastHour["ActionsFailed"] != 3 {
		t.Errorf("status --local: %d %+v", code, st)
	}

	done := st.LastHour["ActionsDone"]
	code, stdout, stderr = runCLI(t, "", "dlq", "redrive", "--local", "--queue", "events", "--id", l.EventID)
	if code != 0 || !strings.Contains(stdout, "Handed 1 ") {
		t.Fatalf("dlq redrive --local --queue events: %d %s %s", code, stdout, stderr)
	}
	servetest.WaitFor(t, "the redriven action", func() bool {
		_, out, _ := runCLI(t, "", "status", "--local", "--json")
		var now operate.Status
		return json.Unmarshal([]byte(out), &now) == nil && now.LastHour["ActionsDone"] > done
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.Pipeline().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Pipeline().DeadActions()); n != 0 {
		t.Errorf("%d dead action events after the redrive, want 0", n)
	}
	if w := s.Sandbox().Writes(); len(w) != 1 {
		t.Errorf("the sandbox has %d writes after the redrive, want onboarding's one: %+v", len(w), w)
	}
}
