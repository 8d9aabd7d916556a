package memqueue

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestMaxBacklog: concurrent senders against a bound; exactly MaxBacklog messages are
// accepted, the rest get ErrFull, and room made by deleting or dead-lettering is reusable
// while in-flight messages still count.
func TestMaxBacklog(t *testing.T) {
	for round := range 20 {
		q := &Queue{MaxBacklog: 50, MaxReceives: 1}
		var ok, full atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					switch err := q.Send(context.Background(), "m"); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrFull):
						full.Add(1)
					default:
						t.Errorf("Send: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if ok.Load() != 50 || full.Load() != 110 || q.Len() != 50 {
			t.Fatalf("round %d: accepted %d, full %d, len %d; want 50, 110, 50", round, ok.Load(), full.Load(), q.Len())
		}
	}
	q := &Queue{MaxBacklog: 2, MaxReceives: 1}
	send(t, q, "a", "b")
	got := q.Receive(2) // in flight still counts
	if err := q.Send(context.Background(), "c"); !errors.Is(err, ErrFull) {
		t.Fatalf("send with 2 in flight: %v, want ErrFull", err)
	}
	q.Delete(got[0].ID)
	q.Release(got[1].ID) // dead-lettered (MaxReceives 1): no longer counted
	send(t, q, "c", "d")
	if p := q.Pending(); len(p) != 2 || p[0].Body != "c" || p[1].Body != "d" {
		t.Fatalf("Pending = %+v, want c, d", p)
	}
}

// TestPendingVisibleAndInFlight: Pending lists what was neither deleted nor dead-lettered.
func TestPendingVisibleAndInFlight(t *testing.T) {
	q := New()
	send(t, q, "a", "b", "c")
	got := q.Receive(1)
	q.Delete(q.Receive(1)[0].ID)
	p := q.Pending()
	if len(p) != 2 || p[0].Body != "c" || p[1].Body != "a" || p[1].ID != got[0].ID {
		t.Fatalf("Pending = %+v, want c (visible) then a (in flight)", p)
	}
}
