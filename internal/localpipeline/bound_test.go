package localpipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
)

// TestActionStageBoundReachesEndpoint: with every target stuck, the action stage stops
// at its bound, the worker stops taking from the queue, the queue fills to its backlog
// bound, and the endpoint answers 503 with Retry-After; memory held is bounded by both.
// Once the targets go again, every acknowledged webhook reaches its target once.
func TestActionStageBoundReachesEndpoint(t *testing.T) {
	const maxPending, maxBacklog = 5, 10
	gate := make(chan struct{})
	var mu sync.Mutex
	got := map[string]int{} // delivery id -> deliveries to the target
	target := func(ctx context.Context, ev events.EventBridgeEvent) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		id := deliveryID(t, ev)
		mu.Lock()
		got[id]++
		mu.Unlock()
		return nil
	}
	p := New(Config{
		Tokens:            tokens(t),
		Queue:             &memqueue.Queue{MaxBacklog: maxBacklog},
		Routes:            []Route{route(t, "Fn", `{"source":["peerdom"]}`, target, 0)},
		MaxPendingActions: maxPending,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx, 2)
	srv := httptest.NewServer(p.WebhookHandler())
	defer srv.Close()

	acked := map[string]bool{}
	refused := 0
	for i := 0; i < 200 && refused == 0; i++ {
		resp, err := http.Post(srv.URL+"/webhooks/"+token, "application/json", strings.NewReader(fmt.Sprintf(`{"text":"bound %d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		var id string
		fmt.Fscanf(resp.Body, `{"id":%q}`, &id)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			acked[id] = true
		case http.StatusServiceUnavailable:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			refused++
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
		if i%5 == 4 {
			// Let the worker take what it may; the bound, not this pause, stops it.
			waitFor(t, func() bool { return p.PendingActions() >= maxPending || p.Queue.Len() == 0 })
		}
	}
	if refused == 0 {
		t.Fatalf("200 webhooks acknowledged with every target stuck: no backpressure")
	}
	// At most one batch past the action bound (the worker checks before each poll), and
	// the queue at its own bound.
	if n := p.PendingActions(); n < maxPending || n > maxPending+memqueue.MaxBatch {
		t.Errorf("%d actions pending, want between %d and %d", n, maxPending, maxPending+memqueue.MaxBatch)
	}
	if held := p.Queue.Len() + p.Queue.InFlight(); held != maxBacklog {
		t.Errorf("queue holds %d, want its bound %d", held, maxBacklog)
	}
	if len(acked) > maxPending+memqueue.MaxBatch+maxBacklog {
		t.Errorf("%d acknowledged with the targets stuck", len(acked))
	}
	close(gate)
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	if err := p.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	for id := range acked {
		if got[id] != 1 {
			t.Errorf("delivery %s reached its target %d times", id, got[id])
		}
	}
	if len(got) != len(acked) {
		t.Errorf("%d deliveries reached the target, %d acknowledged", len(got), len(acked))
	}
	t.Logf("acknowledged %d before the first 503", len(acked))
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// deliveryID is the webhook's delivery id in an event's detail.
func deliveryID(t *testing.T, ev events.EventBridgeEvent) string {
	var d struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.ID == "" {
		t.Errorf("event %s: no delivery id in its detail (%v)", ev.ID, err)
	}
	return d.ID
}
