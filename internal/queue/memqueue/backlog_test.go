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
	got, err := q.Receive(context.Background(), 2, 0) // in flight still counts
	if err != nil || len(got) != 2 {
		t.Fatalf("receive: %v, %d messages", err, len(got))
	}
	if err := q.Send(context.Background(), "c"); !errors.Is(err, ErrFull) {
		t.Fatalf("send with 2 in flight: %v, want ErrFull", err)
	}
	if err := q.Delete(context.Background(), got[0].Receipt); err != nil {
		t.Fatal(err)
	}
	if err := q.ChangeVisibility(context.Background(), got[1].Receipt, 0); err != nil { // released: dead-lettered (MaxReceives 1), no longer counted
		t.Fatal(err)
	}
	send(t, q, "c", "d")
	if p := q.Pending(); len(p) != 2 || p[0].Body != "c" || p[1].Body != "d" {
		t.Fatalf("Pending = %+v, want c, d", p)
	}
}

// TestPendingVisibleAndInFlight: Pending lists what was neither deleted nor dead-lettered.
func TestPendingVisibleAndInFlight(t *testing.T) {
	q := New()
	send(t, q, "a", "b", "c")
	ctx := context.Background()
	got, _ := q.Receive(ctx, 1, 0)
	second, _ := q.Receive(ctx, 1, 0)
	if len(got) != 1 || len(second) != 1 {
		t.Fatalf("received %d and %d messages, want 1 each", len(got), len(second))
	}
	if err := q.Delete(ctx, second[0].Receipt); err != nil {
		t.Fatal(err)
	}
	p := q.Pending()
	if len(p) != 2 || p[0].Body != "c" || p[1].Body != "a" || p[1].ID != got[0].ID {
		t.Fatalf("Pending = %+v, want c (visible) then a (in flight)", p)
	}
}
