package membus

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/peerbridge/peerbridge/internal/bus/bustest"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// TestConformance routes as the local pipeline does: a subscriber matches each event,
// as EventBridge delivers it, against the rule's pattern with pkg/eventpattern.
func TestConformance(t *testing.T) {
	bustest.Run(t, newBus, bustest.Features{
		RefusesOversizedCall:   true,
		RefusesNonObjectDetail: true,
		MatchesObjectsInArrays: true,
	})
}

// newBus makes an empty bus whose rules match as the local pipeline's subscribers do.
func newBus(t *testing.T) bustest.Instance {
	b := New()
	return bustest.Instance{Putter: b, Route: func(t testing.TB, pattern string) func(int) []bustest.Routed {
		p, err := eventpattern.Compile([]byte(pattern))
		if err != nil {
			t.Fatalf("pattern %s: %v", pattern, err)
		}
		var mu sync.Mutex
		var routed []bustest.Routed
		b.Subscribe(func(ev Event) {
			raw, err := json.Marshal(ev.CloudWatchEvent())
			if err != nil {
				t.Errorf("event %s: %v", ev.ID, err)
				return
			}
			if ok, err := p.Match(raw); err != nil || !ok {
				return
			}
			var r bustest.Routed
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Errorf("event %s: %v", ev.ID, err)
			}
			mu.Lock()
			routed = append(routed, r)
			mu.Unlock()
		})
		return func(int) []bustest.Routed { // delivered inside PutEvents: nothing to wait for
			mu.Lock()
			defer mu.Unlock()
			return append([]bustest.Routed(nil), routed...)
		}
	}}
}
