package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// syncBuffer is a bytes.Buffer safe for the display's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startTestStack(t *testing.T, params map[string]string) (*Stack, *syncBuffer, string) {
	t.Helper()
	eventsOut := filepath.Join(t.TempDir(), "events.jsonl")
	out := &syncBuffer{}
	opts := Options{
		Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "test-token",
		Template: filepath.Join("..", "..", "template.yaml"), Params: params,
		EventsOut: eventsOut, LogLevel: "error", DrainFor: 20 * time.Second,
	}
	s, err := Start(context.Background(), opts, out, out)
	if err != nil {
		t.Fatal(err)
	}
	return s, out, eventsOut
}

func sendKind(t *testing.T, s *Stack, kind string) {
	t.Helper()
	body, _ := webhooksamples.Body(kind)
	resp, err := http.Post(s.webhookURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d", kind, resp.StatusCode)
	}
}

// TestServeRoundTrip is the quick start: sample webhooks in, events routed by the
// template's rules, the actions write to the sandbox, the sandbox's webhooks come back
// and the loop stops; shutdown finishes it all.
func TestServeRoundTrip(t *testing.T) {
	s, out, eventsOut := startTestStack(t, nil)
	sendKind(t, s, "peer-created")
	sendKind(t, s, "role-created")
	sendKind(t, s, "peer-created") // again: at-least-once delivery must not assign twice
	sendKind(t, s, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	writes := s.sandbox.Writes()
	var assign, fill int
	for _, w := range writes {
		switch {
		case w.Method == "POST" && strings.HasSuffix(w.Path, "/peers"):
			assign++
		case w.Method == "PUT" && strings.HasPrefix(w.Path, "/roles/"):
			fill++
		}
	}
	if assign != 1 || fill != 1 || len(writes) != 2 {
		t.Errorf("sandbox writes %+v: want one assignment and one role fill", writes)
	}
	// The sandbox's port is closed now; read its state through the same handler.
	inspect := httptest.NewServer(s.sandbox)
	defer inspect.Close()
	api, err := peerdomapi.New(inspect.URL+peerdomtest.APIPrefix, s.sandbox.Config().APIKey)
	if err != nil {
		t.Fatal(err)
	}
	role, err := api.Roles().Get(context.Background(), webhooksamples.RoleID, peerdomapi.Options{CustomFields: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := customField(role.CustomFields, "Purpose"); got != "To be defined" {
		t.Errorf("role Purpose = %q, want the default filled in", got)
	}

	// The events file holds every bus event, as EventBridge delivers them.
	f, err := os.Open(eventsOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("events-out line is not an event: %v", err)
		}
		types[ev.DetailType]++
	}
	if n := s.pipeline.Bus.Accepted(); n == 0 || sum(types) != n {
		t.Errorf("events-out has %d events, the bus %d", sum(types), n)
	}
	// 4 webhooks + the sandbox's 2 (assignment, fill) + enrich's snapshots of those
	// not authored by the sandbox's own key (IGNORE_AUTHORS): 2 peer + 1 role.
	if types["Peer Created"] != 2 || types["Role Created"] != 1 || types["Unrecognized Message"] != 1 ||
		types["Role Updated"] != 2 || types["Peer Snapshot"] != 2 || types["Role Snapshot"] != 1 {
		t.Errorf("event types %v", types)
	}
	if dead := s.pipeline.DeadActions(); len(dead) != 0 {
		t.Errorf("dead-lettered actions: %+v", dead)
	}
	display := out.String()
	for _, want := range []string{"webhook endpoint  POST http://127.0.0.1:", "Peer Created", "→ EnrichFunction, OnboardPeerFunction",
		"onboard-peer POST /v1/roles/", "✓ OnboardPeerFunction on Peer Created", "stopped: "} {
		if !strings.Contains(display, want) {
			t.Errorf("display lacks %q:\n%s", want, display)
		}
	}
	if strings.Contains(display, "peerdomtest-key") && !strings.Contains(display, "X-Api-Key: peerdomtest-key") {
		t.Errorf("the sandbox key appears outside its announcement")
	}
}

// TestServeAPIFaultsRetried: the sandbox API fails — 429s on reads, a 500 on the
// assignment, a 503 on the role fill, and one write applied although answered 500 — and
// the client's retries and the pipeline's redelivery still get each effect done once.
// Each fault must have fired (counted in the sandbox's request log); the effects are
// counted delivered (written once), duplicated (written more than once), lost (never
// written) and dead-lettered (an action that gave up).
func TestServeAPIFaultsRetried(t *testing.T) {
	for round := range 3 {
		s, _, _ := startTestStack(t, nil)
		// The assignment: answered 500 without being applied, then 500 although applied
		// (the retry must find the peer holding the role, not assign again).
		s.sandbox.InjectFault(peerdomtest.Fault{Method: "POST", Path: "/roles/", Status: 500, Times: 1})
		s.sandbox.InjectFault(peerdomtest.Fault{Method: "POST", Path: "/roles/", Status: 500, Apply: true, Times: 1})
		s.sandbox.InjectFault(peerdomtest.Fault{Method: "GET", Status: 429, RetryAfter: "0", Times: 2})
		s.sandbox.InjectFault(peerdomtest.Fault{Method: "PUT", Path: "/roles/", Status: 503, Times: 1})
		client := &http.Client{Transport: &http.Transport{}} // closed before the shutdown (see TestServeBacklogBound)
		var wg sync.WaitGroup
		for _, kind := range []string{"peer-created", "role-created", "peer-created", "role-created"} {
			wg.Go(func() { // concurrent, and each twice: at-least-once
				body, _ := webhooksamples.Body(kind)
				resp, err := client.Post(s.webhookURL, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: status %d", kind, resp.StatusCode)
				}
			})
		}
		wg.Wait()
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := s.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		fired := map[string]int{}
		for _, r := range s.sandbox.Requests() {
			if r.Status == 429 || r.Status >= 500 {
				fired[fmt.Sprintf("%s %d", r.Method, r.Status)]++
			}
		}
		var assigned, filled int
		for _, w := range s.sandbox.Writes() {
			switch {
			case w.Method == "POST" && strings.HasSuffix(w.Path, "/peers"):
				assigned++
			case w.Method == "PUT" && strings.HasPrefix(w.Path, "/roles/"):
				filled++
			}
		}
		dead := len(s.pipeline.DeadActions())
		count := func(n int) (delivered, duplicated, lost int) {
			switch {
			case n == 0:
				return 0, 0, 1
			case n == 1:
				return 1, 0, 0
			}
			return 1, n - 1, 0
		}
		ad, adup, alost := count(assigned)
		fd, fdup, flost := count(filled)
		t.Logf("round %d: 4 webhooks accepted; faults fired %v; assignment: delivered %d, duplicated %d, lost %d; role fill: delivered %d, duplicated %d, lost %d; dead-lettered actions %d",
			round, fired, ad, adup, alost, fd, fdup, flost, dead)
		if fired["POST 500"] != 2 || fired["GET 429"] != 2 || fired["PUT 503"] != 1 {
			t.Errorf("round %d: faults fired %v, want POST 500 ×2, GET 429 ×2, PUT 503 ×1", round, fired)
		}
		if adup+alost+fdup+flost != 0 || dead != 0 {
			t.Errorf("round %d: assignments %d, fills %d (want 1 each), dead %v", round, assigned, filled, s.pipeline.DeadActions())
		}
	}
}

func customField(fields []peerdomapi.CustomField, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return strings.Join(f.Values, ",")
		}
	}
	return ""
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
