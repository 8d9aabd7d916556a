package action_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/idempotency/storetest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// go test ./pkg/action -run Concurrent -once.nostore runs the concurrency tests without
// a store, to see the race they guard against (they then fail).
var noStore = flag.Bool("once.nostore", false, "run the concurrent-delivery tests without an idempotency store")

const (
	rounds     = 200 // of concurrent deliveries, each on a fresh entity
	deliveries = 20  // at once, per round
)

// leasesOnly is the memory store without its idempotency.Claims: Once then takes the
// separate lease and records (the path a Store without claims takes).
type leasesOnly struct{ idempotency.Store }

// newOnce is the hook under test: the memory store (with claims, or its leases and
// records only), polling fast so a round stays short.
func newOnce(claims bool) *action.Once {
	if *noStore {
		return nil
	}
	var store idempotency.Store = memstore.New(nil)
	if !claims {
		store = leasesOnly{store}
	}
	return &action.Once{Store: store, PollMin: 500 * time.Microsecond, PollMax: 2 * time.Millisecond}
}

// storeKinds are the two ways Once keeps effects once, each run by the concurrency tests.
var storeKinds = map[bool]string{true: "claims", false: "leases and records"}

// deliverAtOnce runs the events through r concurrently, released together, and returns
// the runs' errors.
func deliverAtOnce(r *action.Runner, evs []action.Event) []error {
	errs := make([]error, len(evs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Go(func() {
			<-start
			errs[i] = r.Run(context.Background(), ev)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// copies makes n deliveries of one webhook event: distinct event ids (EventBridge's
// redeliveries) and either the same delivery id (one webhook) or distinct ones (several
// webhooks about the same entity).
func copies(n int, detailType string, d peerdom.Detail, sameDelivery bool) []action.Event {
	evs := make([]action.Event, n)
	delivery := peerdom.NewDeliveryID()
	for i := range evs {
		d := d
		d.ID = delivery
		if !sameDelivery {
			d.ID = peerdom.NewDeliveryID()
		}
		evs[i] = action.Event{ID: peerdom.NewDeliveryID(), Source: "peerdom", DetailType: detailType, Time: time.Now(), Detail: d}
	}
	return evs
}

// concurrentRounds runs rounds of concurrent deliveries through the action h and checks
// that each round wrote once. newEntity makes a round's entity and returns its event. With
// the store, the deliveries of one webhook (sameDelivery) run the action once in all —
// the others are skipped without an API call; deliveries of several webhooks all run, one
// at a time, and the state check finds the work done.
func concurrentRounds(t *testing.T, s *peerdomtest.Server, name string, h action.Handler, sameDelivery, claims bool, newEntity func(n int) (string, peerdom.Detail)) {
	t.Helper()
	var runs atomic.Int32
	counted := action.HandlerFunc(func(ctx context.Context, ev action.Event) error { runs.Add(1); return h.Handle(ctx, ev) })
	r := &action.Runner{Name: name, Handler: counted, Once: newOnce(claims), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	wantRuns := int32(deliveries)
	if sameDelivery && !*noStore {
		wantRuns = 1
	}
	hist := map[int]int{}
	for round := range rounds {
		before := len(s.Writes())
		runs.Store(0)
		detailType, d := newEntity(round)
		for i, err := range deliverAtOnce(r, copies(deliveries, detailType, d, sameDelivery)) {
			if err != nil {
				t.Fatalf("round %d, delivery %d: %v", round, i, err)
			}
		}
		hist[len(s.Writes())-before]++
		if runs.Load() != wantRuns {
			t.Fatalf("round %d: the action ran %d times, want %d", round, runs.Load(), wantRuns)
		}
	}
	t.Logf("writes per round over %d rounds of %d concurrent deliveries (store: %v): %s", rounds, deliveries, !*noStore, fmtHist(hist))
	if hist[1] != rounds {
		t.Fatal("want 1 write in every round")
	}
}

func fmtHist(hist map[int]int) string {
	out := ""
	for _, n := range slices.Sorted(maps.Keys(hist)) {
		out += fmt.Sprintf(" %d write(s): %d rounds;", n, hist[n])
	}
	return out
}

var variants = map[bool]string{true: "one webhook redelivered", false: "several webhooks"}

func TestConcurrentPeerCreatedAssignsOnce(t *testing.T) {
	for _, c := range []struct{ sameDelivery, claims bool }{{true, true}, {false, true}, {true, false}, {false, false}} {
		sameDelivery := c.sameDelivery
		t.Run(variants[sameDelivery]+", "+storeKinds[c.claims], func(t *testing.T) {
			s := newPeerdom(t, nil)
			newcomer := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
			onboard, err := action.NewOnboardPeer(fastClient(s), []string{newcomer.ID})
			if err != nil {
				t.Fatal(err)
			}
			concurrentRounds(t, s, action.NameOnboardPeer, onboard, sameDelivery, c.claims, func(n int) (string, peerdom.Detail) {
				p := s.AddPeer(peerdomapi.Peer{FirstName: "Peer", LastName: fmt.Sprint(n)})
				return "Peer Created", peerdom.Detail{Entity: peerdom.EntityPeer, Action: peerdom.ActionCreated,
					EntityID: p.ID, Name: "Peer " + fmt.Sprint(n), Author: author("Jane Doe", janeEmail)}
			})
			if got := len(s.Holders()); got != rounds {
				t.Fatalf("%d assignments, want %d", got, rounds)
			}
		})
	}
}

func TestConcurrentRoleCreatedFillsOnce(t *testing.T) {
	for _, c := range []struct{ sameDelivery, claims bool }{{true, true}, {false, true}, {true, false}, {false, false}} {
		sameDelivery := c.sameDelivery
		t.Run(variants[sameDelivery]+", "+storeKinds[c.claims], func(t *testing.T) {
			s := newPeerdom(t, nil)
			defaults, err := action.ParseFieldDefaults(`{"Purpose": "To be defined"}`)
			if err != nil {
				t.Fatal(err)
			}
			roleDefaults, err := action.NewRoleDefaults(fastClient(s), defaults)
			if err != nil {
				t.Fatal(err)
			}
			concurrentRounds(t, s, action.NameRoleDefaults, roleDefaults, sameDelivery, c.claims, func(n int) (string, peerdom.Detail) {
				role := s.AddRole(peerdomapi.Role{Name: fmt.Sprint("Role ", n)})
				return "Role Created", peerdom.Detail{Entity: peerdom.EntityRole, Action: peerdom.ActionCreated,
					EntityID: role.ID, Name: role.Name, Author: author("Jane Doe", janeEmail)}
			})
		})
	}
}

// countingStore counts the calls to a store and can make them fail.
type countingStore struct {
	idempotency.Store
	calls atomic.Int32
	err   error // returned by every call when set
}

func (c *countingStore) Acquire(ctx context.Context, key, owner string, ttl time.Duration) error {
	c.calls.Add(1)
	if c.err != nil {
		return c.err
	}
	return c.Store.Acquire(ctx, key, owner, ttl)
}

func (c *countingStore) Release(ctx context.Context, key, owner string) error {
	c.calls.Add(1)
	if c.err != nil {
		return c.err
	}
	return c.Store.Release(ctx, key, owner)
}

func (c *countingStore) Complete(ctx context.Context, key string, ttl time.Duration) error {
	c.calls.Add(1)
	if c.err != nil {
		return c.err
	}
	return c.Store.Complete(ctx, key, ttl)
}

func (c *countingStore) Completed(ctx context.Context, key string) (bool, error) {
	c.calls.Add(1)
	if c.err != nil {
		return false, c.err
	}
	return c.Store.Completed(ctx, key)
}

// countingRunner runs a handler that counts its calls and returns what result says.
func countingRunner(once *action.Once, logs *logBuffer, result func(n int32) error) (*action.Runner, *atomic.Int32) {
	var calls atomic.Int32
	h := action.HandlerFunc(func(context.Context, action.Event) error { return result(calls.Add(1)) })
	return &action.Runner{Name: "counting", Handler: h, Once: once, IgnoreAuthors: []string{botEmail}, Logger: logs.logger()}, &calls
}

func peerCreated(delivery, peerID string) action.Event {
	return action.Event{ID: peerdom.NewDeliveryID(), Source: "peerdom", DetailType: "Peer Created", Time: time.Now(),
		Detail: peerdom.Detail{ID: delivery, Entity: peerdom.EntityPeer, Action: peerdom.ActionCreated, EntityID: peerID, Name: "Ada Lovelace"}}
}

func TestOnceSkipsACompletedDeliveryWithoutCallingTheAPI(t *testing.T) {
	s := newPeerdom(t, nil)
	newcomer := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	onboard, _ := action.NewOnboardPeer(fastClient(s), []string{newcomer.ID})
	var logs logBuffer
	r := &action.Runner{Name: action.NameOnboardPeer, Handler: onboard, Once: &action.Once{Store: memstore.New(nil)}, Logger: logs.logger()}
	ctx := context.Background()
	delivery := peerdom.NewDeliveryID()

	if err := r.Run(ctx, peerCreated(delivery, ada.ID)); err != nil {
		t.Fatal(err)
	}
	requests := len(s.Requests())
	if err := r.Run(ctx, peerCreated(delivery, ada.ID)); err != nil { // EventBridge's redelivery: a new event id
		t.Fatal(err)
	}
	if got := len(s.Requests()); got != requests {
		t.Fatalf("the repeated delivery made %d API requests, want none", got-requests)
	}
	lines := logs.lines(t)
	if l := lines[1]; l["outcome"] != "ignored" || l["reason"] != "already done" || l["deliveryId"] != delivery {
		t.Fatalf("repeated delivery's log line: %v", l)
	}
	// Another webhook about the same peer is a new delivery: it runs, and the state check
	// finds the role held.
	if err := r.Run(ctx, peerCreated(peerdom.NewDeliveryID(), ada.ID)); err != nil {
		t.Fatal(err)
	}
	if len(s.Requests()) == requests || len(s.Writes()) != 1 {
		t.Fatalf("after a new delivery: %d requests (before %d), %d writes; want more requests and 1 write", len(s.Requests()), requests, len(s.Writes()))
	}
}

func TestOnceRecordsOnlySuccessOrIgnore(t *testing.T) {
	var logs logBuffer
	r, calls := countingRunner(&action.Once{Store: memstore.New(nil)}, &logs, func(n int32) error {
		if n == 1 {
			return errors.New("Peerdom answered 503")
		}
		return nil
	})
	ctx := context.Background()
	ev := peerCreated(peerdom.NewDeliveryID(), "p-1")
	if err := r.Run(ctx, ev); err == nil {
		t.Fatal("the failing handler's error was not returned")
	}
	for range 2 {
		if err := r.Run(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("handler ran %d times, want 2: a failure is retried, a success is not repeated", calls.Load())
	}

	r, calls = countingRunner(&action.Once{Store: memstore.New(nil)}, &logs, func(int32) error { return action.Ignore("not for me") })
	for range 2 {
		if err := r.Run(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("handler ran %d times on an event it ignores, want 1", calls.Load())
	}
}

func TestOnceFailsAnEventWhoseEntityStaysBusy(t *testing.T) {
	var logs logBuffer
	started, finish := make(chan struct{}), make(chan struct{})
	r, calls := countingRunner(&action.Once{Store: memstore.New(nil), PollMin: time.Millisecond, PollMax: 5 * time.Millisecond}, &logs, func(n int32) error {
		if n == 1 {
			close(started)
			<-finish
		}
		return nil
	})
	first := make(chan error, 1)
	go func() { first <- r.Run(context.Background(), peerCreated(peerdom.NewDeliveryID(), "p-1")) }()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := peerCreated(peerdom.NewDeliveryID(), "p-1")
	if err := r.Run(ctx, second); !errors.Is(err, action.ErrEntityBusy) {
		t.Fatalf("a delivery that could not get the lease: err = %v, want ErrEntityBusy", err)
	}
	if err := r.Run(context.Background(), peerCreated(peerdom.NewDeliveryID(), "p-2")); err != nil {
		t.Fatalf("another entity is not blocked: %v", err)
	}
	close(finish)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), second); err != nil { // EventBridge's retry
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("handler ran %d times, want 3 (first, other entity, retry)", calls.Load())
	}
}

func TestOnceTakesOverTheLeaseOfAStuckDelivery(t *testing.T) {
	clock := storetest.NewClock()
	var logs logBuffer
	started, finish := make(chan struct{}), make(chan struct{})
	r, calls := countingRunner(&action.Once{Store: memstore.New(clock.Now)}, &logs, func(n int32) error {
		if n == 1 {
			close(started)
			<-finish // stuck (in Lambda: a crashed or frozen run) past its deadline
		}
		return nil
	})
	stuckCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := make(chan error, 1)
	go func() { first <- r.Run(stuckCtx, peerCreated(peerdom.NewDeliveryID(), "p-1")) }()
	<-started

	ctx, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if err := r.Run(ctx, peerCreated(peerdom.NewDeliveryID(), "p-1")); !errors.Is(err, action.ErrEntityBusy) {
		t.Fatalf("before the stuck delivery's deadline: err = %v, want ErrEntityBusy", err)
	}
	clock.Advance(time.Minute + 5*time.Second + time.Millisecond) // its deadline and the margin
	if err := r.Run(context.Background(), peerCreated(peerdom.NewDeliveryID(), "p-1")); err != nil {
		t.Fatalf("after the stuck delivery's lease expired: %v", err)
	}
	close(finish)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("handler ran %d times, want 2", calls.Load())
	}
	for _, l := range logs.lines(t) {
		if _, lost := l["leaseReleaseError"]; lost && l["outcome"] == "done" {
			return // the stuck delivery says it had lost its lease
		}
	}
	t.Fatalf("no log line notes the lost lease: %v", logs.lines(t))
}

func TestOnceStoreOutageFailsTheEvent(t *testing.T) {
	var logs logBuffer
	store := &countingStore{Store: memstore.New(nil), err: errors.New("DynamoDB: service unavailable")}
	r, calls := countingRunner(&action.Once{Store: store}, &logs, func(int32) error { return nil })
	if err := r.Run(context.Background(), peerCreated(peerdom.NewDeliveryID(), "p-1")); err == nil {
		t.Fatal("an unreachable store did not fail the event")
	}
	if calls.Load() != 0 {
		t.Fatal("the handler ran although the store could not tell whether the delivery was done")
	}
}

func TestOnceComesAfterTheAuthorGuard(t *testing.T) {
	var logs logBuffer
	store := &countingStore{Store: memstore.New(nil)}
	r, calls := countingRunner(&action.Once{Store: store}, &logs, func(int32) error { return nil })
	ev := peerCreated(peerdom.NewDeliveryID(), "p-1")
	ev.Detail.Author = author("Peerbridge Bot", botEmail)
	if err := r.Run(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 || store.calls.Load() != 0 {
		t.Fatalf("an event by an ignored author: %d handler calls, %d store calls; want none", calls.Load(), store.calls.Load())
	}
}

func TestOnceWithoutAStoreRunsEveryDelivery(t *testing.T) {
	for _, once := range []*action.Once{nil, {}} {
		var logs logBuffer
		r, calls := countingRunner(once, &logs, func(int32) error { return nil })
		ev := peerCreated(peerdom.NewDeliveryID(), "p-1")
		for range 2 {
			if err := r.Run(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
		}
		if calls.Load() != 2 {
			t.Fatalf("Once %+v: handler ran %d times, want 2", once, calls.Load())
		}
	}
}

func TestOnceLeasesByNameWhenTheEntityHasNoID(t *testing.T) {
	var logs logBuffer
	started, finish := make(chan struct{}), make(chan struct{})
	r, _ := countingRunner(&action.Once{Store: memstore.New(nil), PollMin: time.Millisecond}, &logs, func(n int32) error {
		if n == 1 {
			close(started)
			<-finish
		}
		return nil
	})
	byName := func(name string) action.Event {
		ev := peerCreated(peerdom.NewDeliveryID(), "")
		ev.Detail.Name = name
		return ev
	}
	first := make(chan error, 1)
	go func() { first <- r.Run(context.Background(), byName("Ada Lovelace")) }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, byName("Ada Lovelace")); !errors.Is(err, action.ErrEntityBusy) {
		t.Errorf("same name: err = %v, want ErrEntityBusy", err)
	}
	if err := r.Run(context.Background(), byName("Grace Hopper")); err != nil {
		t.Errorf("another name: %v", err)
	}
	close(finish)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// claimCounting counts a claims store's calls and can make them fail.
type claimCounting struct {
	*memstore.Store
	claims, finishes atomic.Int32
	err              error
}

func (c *claimCounting) Claim(ctx context.Context, key, owner string, ttl, remember time.Duration, record string) (idempotency.Claim, error) {
	c.claims.Add(1)
	if c.err != nil {
		return idempotency.Claim{}, c.err
	}
	return c.Store.Claim(ctx, key, owner, ttl, remember, record)
}

func (c *claimCounting) Finish(ctx context.Context, cl idempotency.Claim, record string) error {
	c.finishes.Add(1)
	if c.err != nil {
		return c.err
	}
	return c.Store.Finish(ctx, cl, record)
}

// TestOnceWithClaimsTakesTwoWrites: with a claims store, a delivery costs one claim and
// one finish (two conditional writes in DynamoDB) and nothing else; its repeat is
// skipped by the claim without the handler; an unreachable store fails the event before
// the handler runs.
func TestOnceWithClaimsTakesTwoWrites(t *testing.T) {
	var logs logBuffer
	store := &claimCounting{Store: memstore.New(nil)}
	r, calls := countingRunner(&action.Once{Store: store}, &logs, func(int32) error { return nil })
	ev := peerCreated(peerdom.NewDeliveryID(), "p-1")
	if err := r.Run(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || store.claims.Load() != 1 || store.finishes.Load() != 1 {
		t.Fatalf("first delivery: %d handler calls, %d claims, %d finishes; want 1, 1, 1", calls.Load(), store.claims.Load(), store.finishes.Load())
	}
	again := ev
	again.ID = peerdom.NewDeliveryID() // EventBridge's redelivery: a new event id, the same delivery
	if err := r.Run(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || store.claims.Load() != 2 || store.finishes.Load() != 2 {
		t.Fatalf("redelivery: %d handler calls, %d claims, %d finishes; want 1, 2, 2", calls.Load(), store.claims.Load(), store.finishes.Load())
	}
	if l := logs.lines(t); len(l) != 2 || l[1]["outcome"] != "ignored" || l[1]["reason"] != "already done" {
		t.Errorf("lines %v", l)
	}
	down := &claimCounting{Store: memstore.New(nil), err: errors.New("DynamoDB: service unavailable")}
	r, calls = countingRunner(&action.Once{Store: down}, &logs, func(int32) error { return nil })
	if err := r.Run(context.Background(), peerCreated(peerdom.NewDeliveryID(), "p-2")); err == nil || calls.Load() != 0 {
		t.Fatalf("an unreachable store: err %v, %d handler calls; want an error and none", err, calls.Load())
	}
}
