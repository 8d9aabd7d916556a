package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// TestLeasesOnlyKeepsNoRecords: serve's actions' store keeps no completion records, so
// action.Once must not find Claims on it (a claim item keeps an entity's deliveries).
func TestLeasesOnlyKeepsNoRecords(t *testing.T) {
	var s idempotency.Store = leasesOnly{memstore.New(time.Now)}
	if _, ok := s.(idempotency.Claims); ok {
		t.Fatal("leasesOnly offers Claims: action.Once would keep completion records in serve")
	}
	ctx := context.Background()
	if err := s.Complete(ctx, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	if done, err := s.Completed(ctx, "k"); err != nil || done {
		t.Errorf("Completed after Complete = %v, %v; want false: no records kept", done, err)
	}
}

// 20 Role Created webhooks at once for the same role, whose link holds no id (the
// action finds the role by name): serve's actions take a lease on what identifies the
// entity (its name here), so role-defaults reads, checks and writes one at a time and
// the role is written once.
func TestServeConcurrentRoleCreatedWithoutIDWritesOnce(t *testing.T) {
	s, out, _ := startTestStack(t, nil)
	body, _ := webhooksamples.Body("role-created")
	var hook struct{ Text string }
	json.Unmarshal(body, &hook)
	// "**[Role](https://…/role/<id>)** was created" → "**Role** was created"
	link := hook.Text[strings.Index(hook.Text, "[Role]("):]
	link = link[:strings.IndexByte(link, ')')+1]
	noID := strings.Replace(hook.Text, link, "Role", 1)
	if !strings.Contains(link, webhooksamples.RoleID) || strings.Contains(noID, "http") {
		t.Fatalf("the sample's link %q was not removed: %q", link, noID)
	}
	raw, _ := json.Marshal(map[string]string{"text": noID})
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(s.webhookURL, "application/json", strings.NewReader(string(raw)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("webhook %d: %d", i, st)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	puts := 0
	for _, w := range s.sandbox.Writes() {
		if w.Method == "PUT" && strings.HasPrefix(w.Path, "/roles/") {
			puts++
		}
	}
	if puts != 1 {
		t.Errorf("%d PUTs to the role for %d concurrent Role Created, want 1\n%s", puts, n, out)
	}
	if dead := s.pipeline.DeadActions(); len(dead) != 0 {
		t.Errorf("dead-lettered actions: %d", len(dead))
	}
}

// --events-out holds the organization's data: created readable by the user only, and an
// existing file others could read is made so.
func TestServeEventsOutIsPrivate(t *testing.T) {
	for _, existing := range []bool{false, true} {
		file := filepath.Join(t.TempDir(), "events.jsonl")
		if existing {
			os.WriteFile(file, nil, 0o644)
			os.Chmod(file, 0o644) // whatever the umask
		}
		out := &syncBuffer{}
		s, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "t",
			Template: filepath.Join("..", "..", "template.yaml"), EventsOut: file, LogLevel: "error", NoActions: true}, out, out)
		if err != nil {
			t.Fatal(err)
		}
		s.Shutdown(context.Background())
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("existing %v: --events-out mode %v (%v), want 0600", existing, fi.Mode().Perm(), err)
		}
	}
}
