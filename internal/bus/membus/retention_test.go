package membus

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/peerbridge/peerbridge/internal/bus"
)

// TestDropEvents: with DropEvents, concurrent puts are counted and reach the subscriber,
// and nothing is kept; without it, the same puts are kept.
func TestDropEvents(t *testing.T) {
	for _, drop := range []bool{true, false} {
		b := &Bus{DropEvents: drop}
		var seen atomic.Int64
		b.Subscribe(func(Event) { seen.Add(1) })
		entry := bus.Entry{Source: "s", DetailType: "t", Detail: `{"a":1}`}
		bad := bus.Entry{Source: "s", DetailType: "t", Detail: `[1]`} // rejected: not counted
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					if _, err := b.PutEvents(context.Background(), []bus.Entry{entry, bad, entry}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		kept := len(b.Events())
		if b.Accepted() != 800 || seen.Load() != 800 {
			t.Errorf("drop=%v: accepted %d, subscriber saw %d; want 800 each", drop, b.Accepted(), seen.Load())
		}
		if (drop && kept != 0) || (!drop && kept != 800) {
			t.Errorf("drop=%v: %d events kept", drop, kept)
		}
	}
}
