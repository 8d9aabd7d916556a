package localpipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// TestOneDeliveryPerEntityAtATime: events about one entity reach a target one at a time
// (as the deployed actions' lease per entity makes them), however many targets run;
// every event is still delivered once.
func TestOneDeliveryPerEntityAtATime(t *testing.T) {
	peer, _ := webhooksamples.Body("peer-created")
	role, _ := webhooksamples.Body("role-created")
	for round := range 5 {
		var mu sync.Mutex
		inFlight, maxInFlight, delivered := map[string]int{}, map[string]int{}, map[string]int{}
		tgt := func(_ context.Context, ev events.EventBridgeEvent) error {
			var d struct{ EntityID string }
			json.Unmarshal(ev.Detail, &d)
			mu.Lock()
			inFlight[d.EntityID]++
			maxInFlight[d.EntityID] = max(maxInFlight[d.EntityID], inFlight[d.EntityID])
			mu.Unlock()
			time.Sleep(time.Millisecond) // a check, then a write
			mu.Lock()
			inFlight[d.EntityID]--
			delivered[ev.ID]++
			mu.Unlock()
			return nil
		}
		p, _ := start(t, Config{Routes: []Route{route(t, "Fn", `{"source":["peerdom"]}`, tgt, 0)}})
		h := p.WebhookHandler()
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Go(func() {
				for range 10 {
					body := peer
					if c%2 == 1 {
						body = role
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/"+token, strings.NewReader(string(body))))
					if rec.Code != 200 {
						t.Errorf("status %d", rec.Code)
					}
				}
			})
		}
		wg.Wait()
		drain(t, p)
		mu.Lock()
		if len(delivered) != 40 || len(maxInFlight) != 2 {
			t.Fatalf("round %d: %d events delivered for %d entities; want 40 for 2", round, len(delivered), len(maxInFlight))
		}
		for id, n := range delivered {
			if n != 1 {
				t.Errorf("round %d: event %s delivered %d times", round, id, n)
			}
		}
		for e, n := range maxInFlight {
			if n != 1 {
				t.Errorf("round %d: entity %s had %d deliveries at once", round, e, n)
			}
		}
		mu.Unlock()
	}
}
