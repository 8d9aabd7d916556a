package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// missed makes n peers whose webhooks are lost, after a baseline.
func missed(t *testing.T, w *world, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.reconciler().Run(ctx); err != nil {
		t.Fatal(err)
	}
	w.srv.DropWebhooks(n)
	for i := range n {
		must(w.api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Missed", LastName: fmt.Sprint(i)}))
	}
}

// TestHonours429: the API throttles the lists; the client retries and the run completes.
func TestHonours429(t *testing.T) {
	w := newWorld(t, memstate.New(), &recorder{})
	missed(t, w, 3)
	var slept atomic.Int32
	w.api = w.srv.Client(peerdomapi.WithSleep(func(context.Context, time.Duration) error { slept.Add(1); return nil }))
	w.srv.InjectFault(peerdomtest.Fault{Method: http.MethodGet, Path: "/peers", Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 2})
	rep, err := w.reconciler().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 3 || slept.Load() != 2 {
		t.Errorf("published %d (want 3) after %d waits (want 2)", rep.Published, slept.Load())
	}
}

// slowBus waits, on its third call, until the run's working time is over.
type slowBus struct {
	recorder
	calls int
	until time.Time
}

func (b *slowBus) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	b.calls++
	if b.calls == 3 {
		time.Sleep(time.Until(b.until))
	}
	return b.recorder.PutEvents(ctx, entries)
}

// TestStopsAtTheDeadlineAndResumes: a run that reaches its deadline stops between
// batches with what it published recorded; the next run publishes the rest, each once.
func TestStopsAtTheDeadlineAndResumes(t *testing.T) {
	b := &slowBus{}
	w := newWorld(t, memstate.New(), &b.recorder)
	missed(t, w, 10)
	r := w.reconciler()
	r.Bus, r.Batch, r.Reserve = b, 1, 2*time.Second
	deadline := time.Now().Add(r.Reserve + 500*time.Millisecond)
	b.until = deadline.Add(-r.Reserve)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	first, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Incomplete || first.Published > 3 || first.Recorded != first.Published {
		t.Fatalf("first run %+v: want it stopped after at most 3 events, each recorded", first)
	}
	second, err := w.reconciler().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, ev := range b.events(t) {
		ids[ev.Detail.ID]++
	}
	t.Logf("first run published %d, the next %d", first.Published, second.Published)
	if second.Incomplete || first.Published+second.Published != 10 || len(ids) != 10 {
		t.Errorf("runs published %d + %d, %d distinct events; want 10 in all", first.Published, second.Published, len(ids))
	}
}

// TestDryRunPublishesNothing: without a bus the differences are reported, and recorded.
func TestDryRunPublishesNothing(t *testing.T) {
	b := &recorder{}
	w := newWorld(t, memstate.New(), b)
	missed(t, w, 2)
	r := w.reconciler()
	r.Bus = nil
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Events) != 2 || rep.Published != 0 || len(b.events(t)) != 0 {
		t.Fatalf("dry run: %d events, %d published, %d on the bus", len(rep.Events), rep.Published, len(b.events(t)))
	}
	if ev := rep.Events[0]; ev.DetailType != "Peer Created" || ev.Detail.Origin != peerdom.OriginReconcile || ev.Detail.Name == "" {
		t.Errorf("event %+v", ev)
	}
	if again, _ := r.Run(context.Background()); len(again.Events) != 0 {
		t.Errorf("the state file was not updated: %d events again", len(again.Events))
	}
}

// TestLastOfAKindDeleted: when a kind's list comes back empty, its recorded entities are
// reported deleted.
func TestLastOfAKindDeleted(t *testing.T) {
	ctx := context.Background()
	b := &recorder{}
	w := newWorld(t, memstate.New(), b)
	peer := w.srv.AddPeer(peerdomapi.Peer{FirstName: "Only", LastName: "One"})
	if _, err := w.reconciler().Run(ctx); err != nil {
		t.Fatal(err)
	}
	w.srv.DropWebhooks(1)
	if err := w.api.Peers().Delete(ctx, peer.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := w.reconciler().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs := b.events(t)
	if rep.Published != 1 || len(evs) != 1 || evs[0].DetailType != "Peer Deleted" || evs[0].Detail.EntityID != peer.ID {
		t.Fatalf("report %+v, events %+v", rep, evs)
	}
}

// refusingBus refuses every other entry of each call, as EventBridge's per-entry
// failures do, and keeps the detail ids it refused.
type refusingBus struct {
	recorder
	refused []string
}

func (b *refusingBus) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	out := make([]bus.Result, len(entries))
	var accepted []bus.Entry
	for i, e := range entries {
		if i%2 == 1 {
			d, err := peerdom.DecodeDetail([]byte(e.Detail))
			if err != nil {
				return nil, err
			}
			b.refused = append(b.refused, d.ID)
			out[i] = bus.Result{ErrorCode: "InternalFailure", ErrorMessage: "refused by the test"}
			continue
		}
		accepted = append(accepted, e)
	}
	res, err := b.recorder.PutEvents(ctx, accepted)
	if err != nil {
		return nil, err
	}
	for i, j := 0, 0; i < len(entries); i++ {
		if out[i].ErrorCode == "" {
			out[i], j = res[j], j+1
		}
	}
	return out, nil
}

// TestRefusedEventsAreNotRecorded: a difference whose event the bus refused is not
// recorded in the state, so the next run publishes it, with the same id; the accepted
// ones are recorded and not published again.
func TestRefusedEventsAreNotRecorded(t *testing.T) {
	b := &refusingBus{}
	w := newWorld(t, memstate.New(), &b.recorder)
	missed(t, w, 4)
	r := w.reconciler()
	r.Bus = b
	first, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Failed != len(b.refused) || first.Failed == 0 || first.Published+first.Failed != 4 || first.Recorded != first.Published {
		t.Fatalf("first run %+v with %d refused: want the refused ones counted and only the accepted recorded", first, len(b.refused))
	}
	second, err := w.reconciler().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.Published != first.Failed || second.Failed != 0 {
		t.Fatalf("second run %+v: want exactly the %d refused events published", second, first.Failed)
	}
	ids := map[string]int{}
	for _, ev := range b.events(t) {
		ids[ev.Detail.ID]++
	}
	for _, id := range b.refused {
		if ids[id] != 1 {
			t.Errorf("refused event %s is on the bus %d times after the next run, want once with the same id", id, ids[id])
		}
	}
	if len(ids) != 4 {
		t.Errorf("%d distinct events on the bus, want 4", len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s on the bus %d times", id, n)
		}
	}
}

// TestHeldLeaseSkipsTheRun: while another run holds the lease, a run does nothing (no
// listing, no event, no record); once it is released, a run works and releases its own.
func TestHeldLeaseSkipsTheRun(t *testing.T) {
	ctx := context.Background()
	b := &recorder{}
	w := newWorld(t, memstate.New(), b)
	missed(t, w, 2)
	leases := memstore.New(nil)
	if err := leases.Acquire(ctx, reconcile.LeaseKey, "other run", time.Minute); err != nil {
		t.Fatal(err)
	}
	r := w.reconciler()
	r.Leases = leases
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Skipped || len(rep.Listed) != 0 || rep.Differences != 0 || rep.Recorded != 0 || len(b.events(t)) != 0 {
		t.Fatalf("run under a held lease: %+v, %d events; want it skipped, doing nothing", rep, len(b.events(t)))
	}
	if err := leases.Release(ctx, reconcile.LeaseKey, "other run"); err != nil {
		t.Fatal(err)
	}
	rep, err = r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped || rep.Published != 2 {
		t.Fatalf("run after the release: %+v; want the 2 missed changes published", rep)
	}
	if err := leases.Acquire(ctx, reconcile.LeaseKey, "other run", time.Minute); err != nil {
		t.Errorf("the run kept its lease: %v", err)
	}
}

// TestNetChangePerRun: a field changed twice between two runs, both webhooks lost, is one
// event showing the value of the last run and the latest; an entity created and deleted
// between two runs shows nothing.
func TestNetChangePerRun(t *testing.T) {
	ctx := context.Background()
	b := &recorder{}
	w := newWorld(t, memstate.New(), b)
	peer := w.srv.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Byron"})
	if _, err := w.reconciler().Run(ctx); err != nil {
		t.Fatal(err)
	}
	w.srv.DropWebhooks(4)
	for _, last := range []string{"King", "Lovelace"} {
		must(w.api.Peers().Update(ctx, peer.ID, peerdomapi.PeerInput{FirstName: "Ada", LastName: last}))
	}
	gone := must(w.api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Brief", LastName: "Visit"}))
	if err := w.api.Peers().Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.WaitWebhooks(ctx); err != nil || len(w.srv.DroppedWebhooks()) != 4 {
		t.Fatalf("%d webhooks dropped (%v), want the 4 writes'", len(w.srv.DroppedWebhooks()), err)
	}
	rep, err := w.reconciler().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs := b.events(t)
	if rep.Published != 1 || len(evs) != 1 {
		t.Fatalf("report %+v, events %+v; want one event", rep, evs)
	}
	d := evs[0].Detail
	if d.EntityID != peer.ID || len(d.Changes) != 1 || d.Changes[0].Field != "Last name" || d.Changes[0].Old != "Byron" || d.Changes[0].New != "Lovelace" {
		t.Fatalf("detail %+v; want Last name Byron → Lovelace", d)
	}
}
