package localpipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// TestStopKeepsPendingActions: a pipeline stopped mid-work (a drain that ran out of time)
// hands back every matched event its target has not finished — those cut short, those
// never taken and those waiting for a retry — and dead-letters none of them; every event
// is delivered or pending, never both, never neither.
func TestStopKeepsPendingActions(t *testing.T) {
	body, _ := webhooksamples.Body(webhooksamples.Test)
	for round := range 10 {
		var mu sync.Mutex
		delivered := map[string]int{}
		slowCalls, flakyCalls := 0, 0
		slow := func(ctx context.Context, ev events.EventBridgeEvent) error {
			mu.Lock()
			slowCalls++
			fast := slowCalls <= 5
			mu.Unlock()
			if !fast {
				<-ctx.Done() // a target still busy when the drain gives up
				return ctx.Err()
			}
			mu.Lock()
			delivered["Slow "+ev.ID]++
			mu.Unlock()
			return nil
		}
		flaky := func(context.Context, events.EventBridgeEvent) error {
			mu.Lock()
			flakyCalls++
			mu.Unlock()
			return fmt.Errorf("injected failure")
		}
		p := New(Config{
			Tokens: tokens(t),
			Routes: []Route{
				route(t, "Slow", `{"source":["peerdom"]}`, slow, 0),
				route(t, "Flaky", `{"source":["peerdom"]}`, flaky, 5),
			},
			RetryDelay: func(int) time.Duration { return 20 * time.Millisecond },
		})
		ctx, cancel := context.WithCancel(context.Background())
		p.Start(ctx, 3)
		h := p.WebhookHandler()
		const n = 40
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range n / 4 {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodPost, "/webhooks/"+token, strings.NewReader(string(body)))
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						t.Errorf("status %d", rec.Code)
					}
				}
			})
		}
		wg.Wait()
		deadline := time.Now().Add(10 * time.Second)
		for p.Bus.Accepted() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		for flakyCalls == 0 && time.Now().Before(deadline) { // a retry is scheduled
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
		}
		mu.Unlock()
		pending := p.Stop(cancel)

		if got := p.Bus.Accepted(); got != n {
			t.Fatalf("round %d: %d events on the bus, want %d", round, got, n)
		}
		if dead := p.DeadActions(); len(dead) != 0 {
			t.Fatalf("round %d: %d dead-lettered, want none (a cut-short delivery is pending): %v", round, len(dead), dead[0].Err)
		}
		pend := map[string]int{}
		for _, a := range pending {
			pend[a.Function+" "+a.Event.ID]++
		}
		mu.Lock()
		for _, ev := range p.Bus.Events() {
			for _, fn := range []string{"Slow", "Flaky"} {
				k := fn + " " + ev.ID
				if delivered[k]+pend[k] != 1 {
					t.Errorf("round %d: %s delivered %d times, pending %d times; want exactly one of them once", round, k, delivered[k], pend[k])
				}
			}
		}
		if len(delivered) != 5 || flakyCalls == 0 {
			t.Errorf("round %d: %d delivered (want the 5 fast ones), flaky called %d times", round, len(delivered), flakyCalls)
		}
		mu.Unlock()
	}
}
