package localpipeline

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// TestRedriveActionsOnce: events dead-lettered by a failing target, redriven by several
// redrives at once after the fault is cleared, are each delivered exactly once; in a
// loop, for the interleavings.
func TestRedriveActionsOnce(t *testing.T) {
	for round := range 20 {
		var down atomic.Bool
		down.Store(true)
		tgt := &recorder{fail: func(events.EventBridgeEvent) error {
			if down.Load() {
				return errors.New("peerdom answered 500")
			}
			return nil
		}}
		p, srv := start(t, Config{Routes: []Route{route(t, "Flaky", `{"detail-type":["Role Created"]}`, tgt.target, 1)}})
		body, _ := webhooksamples.Body("role-created")
		const n = 5
		for range n {
			if status, _ := post(t, srv.URL+"/webhooks/"+token, string(body)); status != 200 {
				t.Fatal(status)
			}
		}
		drain(t, p)
		if got := len(p.DeadActions()); got != n {
			t.Fatalf("round %d: %d dead actions, want %d", round, got, n)
		}
		down.Store(false)
		var moved atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				m, err := p.RedriveActions(func(DeadAction) bool { return true })
				if err != nil {
					t.Error(err)
				}
				moved.Add(int64(m))
			})
		}
		wg.Wait()
		drain(t, p)
		tgt.mu.Lock()
		delivered := len(tgt.got)
		tgt.mu.Unlock()
		if moved.Load() != n || delivered != n || len(p.DeadActions()) != 0 {
			t.Fatalf("round %d: moved %d, delivered %d, still dead %d; want %d, %d, 0", round, moved.Load(), delivered, len(p.DeadActions()), n, n)
		}
	}
}

// TestRedriveQueueTellsAgain: a queue message redriven and dead-lettered again is
// recorded again, and redriving does not confuse which letters were told.
func TestRedriveQueueTellsAgain(t *testing.T) {
	obs := observe.New(observe.Options{})
	p, _ := start(t, Config{Observe: obs})
	for i := range 3 {
		p.Queue.Send(t.Context(), fmt.Sprintf("not an envelope %d", i))
	}
	drain(t, p)
	dead := p.Queue.DeadLetters()
	if len(dead) != 3 {
		t.Fatalf("%d dead letters, want 3", len(dead))
	}
	if moved, err := p.RedriveQueue([]string{dead[1].ID}); moved != 1 || err != nil {
		t.Fatalf("redrive: %d, %v", moved, err)
	}
	drain(t, p)
	p.Queue.Send(t.Context(), "not an envelope either")
	drain(t, p)
	toldN := func() int { return int(obs.Counts().WebhooksDeadLettered) }
	for deadline := time.Now().Add(5 * time.Second); toldN() < 5 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // the observer is told just after the poll that dead-letters
	}
	if got := toldN(); got != 5 || len(p.Queue.DeadLetters()) != 4 {
		t.Errorf("told %d dead letters, want 5 (3, the redriven one again, a new one); %d in the list, want 4", got, len(p.Queue.DeadLetters()))
	}
}

// TestPurgeAndDeliver: purging drops the named dead letters (queue and actions) and
// records how many; Deliver hands one event to one rule's target, once, matched or not.
func TestPurgeAndDeliver(t *testing.T) {
	obs := observe.New(observe.Options{})
	tgt := &recorder{fail: func(events.EventBridgeEvent) error { return errors.New("always") }}
	ok := &recorder{}
	p, srv := start(t, Config{Observe: obs, Routes: []Route{
		route(t, "Doomed", `{"detail-type":["Role Created"]}`, tgt.target, 0),
		route(t, "Other", `{"detail-type":["Never Sent"]}`, ok.target, 0),
	}})
	body, _ := webhooksamples.Body("role-created")
	for range 3 {
		if status, _ := post(t, srv.URL+"/webhooks/"+token, string(body)); status != 200 {
			t.Fatal(status)
		}
	}
	for i := range 2 {
		p.Queue.Send(t.Context(), fmt.Sprintf("not an envelope %d", i))
	}
	drain(t, p)
	servetestWait(t, func() bool { return len(p.Queue.DeadLetters()) == 2 && len(p.DeadActions()) == 3 })
	dead := p.DeadActions()
	if n := p.PurgeActions(func(d DeadAction) bool { return d.Event.ID == dead[0].Event.ID }); n != 1 || len(p.DeadActions()) != 2 {
		t.Fatalf("purged %d action events, %d left; want 1, 2", n, len(p.DeadActions()))
	}
	if n := p.PurgeQueue([]string{p.Queue.DeadLetters()[0].ID}); n != 1 || len(p.Queue.DeadLetters()) != 1 {
		t.Fatalf("purged %d queue letters, %d left", n, len(p.Queue.DeadLetters()))
	}
	if n := p.PurgeQueue(nil); n != 1 || len(p.Queue.DeadLetters()) != 0 {
		t.Fatalf("purge all: %d", n)
	}
	if c := obs.Counts(); c.Purged != 3 {
		t.Errorf("counted %d purged, want 3", c.Purged)
	}
	// Replay one dead event to the other rule, which never matched it.
	if err := p.Deliver("Other", "OtherRule", dead[1].Event); err != nil {
		t.Fatal(err)
	}
	if err := p.Deliver("Other", "NoSuchRule", dead[1].Event); err == nil {
		t.Error("Deliver to a missing rule: no error")
	}
	drain(t, p)
	ok.mu.Lock()
	got := len(ok.got)
	ok.mu.Unlock()
	if got != 1 {
		t.Errorf("the replayed event was delivered %d times, want 1", got)
	}
}

func servetestWait(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
