// Package storetest is the conformance suite of idempotency.Store: memstore runs it in
// memory and dynamostore over the wire against moto, so the twin and the adapter are
// held to the same behaviour.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency"
)

// Clock is a clock the suite moves by hand; the store under test must read time from it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a whole second, so that millisecond and nanosecond stores agree.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// NewStore returns a store reading time from clock. Stores may share their data (one
// table): every test uses keys of its own.
type NewStore func(t *testing.T, clock *Clock) idempotency.Store

// Features are what differs between implementations.
type Features struct {
	// ContentionRounds is how many rounds the concurrency test runs (each: Contenders
	// goroutines at once on a fresh key). A round over the wire costs milliseconds, in
	// memory microseconds, so the twin can afford many more.
	ContentionRounds int
	Contenders       int // default 20
	// ConditionalWriteRaces: the backend checks a write's condition and writes without a
	// lock between the two, so two concurrent contenders can both pass. moto 5.2.1's
	// DynamoDB does (its threaded server's put_item holds no lock); DynamoDB itself
	// evaluates conditions atomically. The contention test then holds only the adapter's
	// side: every contender wins or sees ErrHeld, and at least one wins each round.
	ConditionalWriteRaces bool
}

var keySeq atomic.Int64

// key is a key no other test (or earlier run against the same table) uses.
func key(t *testing.T) string {
	return fmt.Sprintf("%s/%d/%d", t.Name(), time.Now().UnixNano(), keySeq.Add(1))
}

// Run runs the suite, its tests in parallel (each on keys of its own).
func Run(t *testing.T, newStore NewStore, f Features) {
	if f.ContentionRounds <= 0 {
		f.ContentionRounds = 20
	}
	if f.Contenders <= 0 {
		f.Contenders = 20
	}
	t.Run("AcquireContendRelease", func(t *testing.T) { t.Parallel(); testAcquireContendRelease(t, newStore) })
	t.Run("ExpiredLeaseIsTakenOver", func(t *testing.T) { t.Parallel(); testExpiryTakeover(t, newStore) })
	t.Run("ReleaseByNonOwnerIsRefused", func(t *testing.T) { t.Parallel(); testReleaseByNonOwner(t, newStore) })
	t.Run("CompletionRecord", func(t *testing.T) { t.Parallel(); testCompletionRecord(t, newStore) })
	t.Run("CompletionRecordExpires", func(t *testing.T) { t.Parallel(); testRecordExpiry(t, newStore) })
	t.Run("CancelledContextIsNotContention", func(t *testing.T) { t.Parallel(); testCancelled(t, newStore) })
	t.Run("ConcurrentAcquireHasOneWinner", func(t *testing.T) { t.Parallel(); testContention(t, newStore, f) })
	if _, ok := newStore(t, NewClock()).(idempotency.Claims); ok {
		claims := func(t *testing.T, c *Clock) idempotency.Claims { return newStore(t, c).(idempotency.Claims) }
		t.Run("ClaimContendFinish", func(t *testing.T) { t.Parallel(); testClaimContendFinish(t, claims) })
		t.Run("ClaimRecordsExpireAndAreBounded", func(t *testing.T) { t.Parallel(); testClaimRecords(t, claims) })
		t.Run("FinishByALoserStillRecords", func(t *testing.T) { t.Parallel(); testFinishLost(t, claims) })
		t.Run("ConcurrentClaimHasOneWinner", func(t *testing.T) { t.Parallel(); testClaimContention(t, claims, f) })
	}
}

var ctx = context.Background()

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func testAcquireContendRelease(t *testing.T, newStore NewStore) {
	s, k := newStore(t, NewClock()), key(t)
	must(t, "a acquires a free lease", s.Acquire(ctx, k, "a", time.Minute))
	wantErr(t, "b acquires a's lease", s.Acquire(ctx, k, "b", time.Minute), idempotency.ErrHeld)
	must(t, "a acquires its own lease again", s.Acquire(ctx, k, "a", time.Minute))
	must(t, "another key is free", s.Acquire(ctx, k+"/other", "b", time.Minute))
	must(t, "a releases", s.Release(ctx, k, "a"))
	wantErr(t, "a releases twice", s.Release(ctx, k, "a"), idempotency.ErrNotOwner)
	must(t, "b acquires the released lease", s.Acquire(ctx, k, "b", time.Minute))
	wantErr(t, "a acquires b's lease", s.Acquire(ctx, k, "a", time.Minute), idempotency.ErrHeld)
	wantErr(t, "release of a lease never taken", s.Release(ctx, k+"/never", "a"), idempotency.ErrNotOwner)
}

func testExpiryTakeover(t *testing.T, newStore NewStore) {
	c := NewClock()
	s, k := newStore(t, c), key(t)
	must(t, "a acquires for 10s", s.Acquire(ctx, k, "a", 10*time.Second))
	c.Advance(10*time.Second - time.Millisecond)
	wantErr(t, "b acquires 1ms before expiry", s.Acquire(ctx, k, "b", 10*time.Second), idempotency.ErrHeld)
	c.Advance(time.Millisecond)
	must(t, "b takes over the expired lease", s.Acquire(ctx, k, "b", 10*time.Second))
	wantErr(t, "a releases the lease it lost", s.Release(ctx, k, "a"), idempotency.ErrNotOwner)
	wantErr(t, "a acquires b's fresh lease", s.Acquire(ctx, k, "a", 10*time.Second), idempotency.ErrHeld)

	// Acquiring again extends: b's lease now runs 10s from the renewal.
	c.Advance(5 * time.Second)
	must(t, "b renews", s.Acquire(ctx, k, "b", 10*time.Second))
	c.Advance(9 * time.Second)
	wantErr(t, "a acquires the renewed lease", s.Acquire(ctx, k, "a", 10*time.Second), idempotency.ErrHeld)
	must(t, "b releases", s.Release(ctx, k, "b"))
}

func testReleaseByNonOwner(t *testing.T, newStore NewStore) {
	s, k := newStore(t, NewClock()), key(t)
	must(t, "a acquires", s.Acquire(ctx, k, "a", time.Minute))
	wantErr(t, "b releases a's lease", s.Release(ctx, k, "b"), idempotency.ErrNotOwner)
	wantErr(t, "c acquires after b's refused release", s.Acquire(ctx, k, "c", time.Minute), idempotency.ErrHeld)
	must(t, "a releases", s.Release(ctx, k, "a"))
}

func testCompletionRecord(t *testing.T, newStore NewStore) {
	s, k := newStore(t, NewClock()), key(t)
	if done, err := s.Completed(ctx, k); err != nil || done {
		t.Fatalf("Completed before Complete = %v, %v; want false", done, err)
	}
	must(t, "Complete", s.Complete(ctx, k, 7*24*time.Hour))
	if done, err := s.Completed(ctx, k); err != nil || !done {
		t.Fatalf("Completed after Complete = %v, %v; want true", done, err)
	}
	if done, err := s.Completed(ctx, k+"/other"); err != nil || done {
		t.Fatalf("Completed of another key = %v, %v; want false", done, err)
	}
	// Lease keys and record keys are separate: the record does not block a lease, and a
	// lease does not count as a record.
	must(t, "acquire a lease named like the record", s.Acquire(ctx, k, "a", time.Minute))
	if done, err := s.Completed(ctx, k); err != nil || !done {
		t.Fatalf("Completed after a lease on the same key = %v, %v; want true", done, err)
	}
	must(t, "release", s.Release(ctx, k, "a"))
	if done, err := s.Completed(ctx, k); err != nil || !done {
		t.Fatalf("Completed after releasing a lease on the same key = %v, %v; want true", done, err)
	}
	k2 := key(t)
	must(t, "acquire", s.Acquire(ctx, k2, "a", time.Minute))
	if done, err := s.Completed(ctx, k2); err != nil || done {
		t.Fatalf("a lease counts as a record: Completed = %v, %v", done, err)
	}
}

func testRecordExpiry(t *testing.T, newStore NewStore) {
	c := NewClock()
	s, k := newStore(t, c), key(t)
	must(t, "Complete for an hour", s.Complete(ctx, k, time.Hour))
	c.Advance(time.Hour - time.Millisecond)
	if done, err := s.Completed(ctx, k); err != nil || !done {
		t.Fatalf("Completed 1ms before expiry = %v, %v; want true", done, err)
	}
	c.Advance(time.Millisecond)
	if done, err := s.Completed(ctx, k); err != nil || done {
		t.Fatalf("Completed at expiry = %v, %v; want false", done, err)
	}
	must(t, "Complete again", s.Complete(ctx, k, time.Hour))
	if done, err := s.Completed(ctx, k); err != nil || !done {
		t.Fatalf("Completed after a new Complete = %v, %v; want true", done, err)
	}
}

func testCancelled(t *testing.T, newStore NewStore) {
	s, k := newStore(t, NewClock()), key(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for what, err := range map[string]error{
		"Acquire":  s.Acquire(cctx, k, "a", time.Minute),
		"Release":  s.Release(cctx, k, "a"),
		"Complete": s.Complete(cctx, k, time.Minute),
	} {
		if !errors.Is(err, context.Canceled) || errors.Is(err, idempotency.ErrHeld) || errors.Is(err, idempotency.ErrNotOwner) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled only", what, err)
		}
	}
	if _, err := s.Completed(cctx, k); !errors.Is(err, context.Canceled) {
		t.Errorf("Completed with a cancelled context: err = %v, want context.Canceled", err)
	}
	must(t, "the lease was not taken", s.Acquire(ctx, k, "b", time.Minute))
}

// testContention starts Contenders goroutines at once on one key, round after round:
// exactly one may win each round, and every other must see ErrHeld.
func testContention(t *testing.T, newStore NewStore, f Features) {
	s := newStore(t, NewClock())
	raced := 0 // rounds a racy backend let more than one contender win
	defer func() {
		if raced > 0 {
			t.Logf("the backend let more than one contender win in %d of %d rounds (ConditionalWriteRaces)", raced, f.ContentionRounds)
		}
	}()
	for round := range f.ContentionRounds {
		k := key(t)
		var wins, held atomic.Int32
		errs := make(chan error, f.Contenders)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range f.Contenders {
			wg.Go(func() {
				<-start
				err := s.Acquire(ctx, k, fmt.Sprintf("owner-%d", i), time.Minute)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, idempotency.ErrHeld):
					held.Add(1)
				default:
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if f.ConditionalWriteRaces {
			if wins.Load() < 1 || wins.Load()+held.Load() != int32(f.Contenders) {
				t.Fatalf("round %d: %d winners and %d held of %d contenders, want at least 1 winner and the rest held", round, wins.Load(), held.Load(), f.Contenders)
			}
			if wins.Load() > 1 {
				raced++
			}
			continue
		}
		if wins.Load() != 1 || held.Load() != int32(f.Contenders-1) {
			t.Fatalf("round %d: %d winners and %d held of %d contenders, want 1 and %d", round, wins.Load(), held.Load(), f.Contenders, f.Contenders-1)
		}
	}
}

func claim(t *testing.T, s idempotency.Claims, k, owner, record string) idempotency.Claim {
	t.Helper()
	c, err := s.Claim(ctx, k, owner, time.Minute, time.Hour, record)
	must(t, owner+" claims "+k, err)
	return c
}

// testClaimContendFinish: a claim is a lease (held, extended by its owner, free again
// once finished), and a delivery finished with its record is done for the next claim.
func testClaimContendFinish(t *testing.T, newClaims func(*testing.T, *Clock) idempotency.Claims) {
	s, k := newClaims(t, NewClock()), key(t)
	a := claim(t, s, k, "a", "d1")
	if a.Done || a.Key != k || a.Owner != "a" {
		t.Fatalf("first claim %+v", a)
	}
	_, err := s.Claim(ctx, k, "b", time.Minute, time.Hour, "d1")
	wantErr(t, "b claims a's lease", err, idempotency.ErrHeld)
	claim(t, s, k, "a", "d1") // its own, again
	must(t, "a finishes d1", s.Finish(ctx, a, "d1"))
	b := claim(t, s, k, "b", "d1")
	if !b.Done {
		t.Fatalf("d1 finished, then claimed again: Done = false")
	}
	must(t, "b finishes without a record", s.Finish(ctx, b, ""))
	if c := claim(t, s, k, "c", "d2"); c.Done {
		t.Fatalf("d2 was never finished: Done = true")
	}
	if c := claim(t, s, k+"/other", "c", "d1"); c.Done {
		t.Fatalf("d1 is done on another key")
	}
}

// testClaimRecords: a record expires after remember; a key keeps MaxRecords records, the
// latest.
func testClaimRecords(t *testing.T, newClaims func(*testing.T, *Clock) idempotency.Claims) {
	clock := NewClock()
	s, k := newClaims(t, clock), key(t)
	must(t, "finish old", s.Finish(ctx, claim(t, s, k, "a", "old"), "old"))
	clock.Advance(time.Hour - time.Millisecond)
	if c := claim(t, s, k, "a", "old"); !c.Done {
		t.Fatal("old: not done 1ms before its expiry")
	} else {
		must(t, "release", s.Finish(ctx, c, ""))
	}
	clock.Advance(time.Millisecond)
	c := claim(t, s, k, "a", "old")
	if c.Done || len(c.Expired) != 1 || c.Expired[0] != "old" {
		t.Fatalf("old at its expiry: %+v, want not done and stale", c)
	}
	must(t, "release", s.Finish(ctx, c, ""))
	for i := range idempotency.MaxRecords + 3 {
		clock.Advance(time.Millisecond)
		r := fmt.Sprintf("r%02d", i)
		must(t, "finish "+r, s.Finish(ctx, claim(t, s, k, "a", r), r))
	}
	for i := range idempotency.MaxRecords + 3 {
		r := fmt.Sprintf("r%02d", i)
		c := claim(t, s, k, "b", r)
		if want := i >= 3; c.Done != want {
			t.Errorf("%s: Done = %v, want %v (the latest %d kept)", r, c.Done, want, idempotency.MaxRecords)
		}
		if len(c.Expired) != 0 || len(c.Oldest) != 1 {
			t.Errorf("%s: expired %v, oldest %v with %d records, want none and the one to make room", r, c.Expired, c.Oldest, idempotency.MaxRecords)
		}
		must(t, "release", s.Finish(ctx, c, ""))
	}
}

// testFinishLost: a claim that outlived its ttl and was taken over is not finished by its
// first owner (ErrNotOwner, the new owner keeps the lease), but its record counts.
func testFinishLost(t *testing.T, newClaims func(*testing.T, *Clock) idempotency.Claims) {
	clock := NewClock()
	s, k := newClaims(t, clock), key(t)
	a := claim(t, s, k, "a", "d1")
	clock.Advance(time.Minute)
	b := claim(t, s, k, "b", "d2")
	wantErr(t, "a finishes the claim it lost", s.Finish(ctx, a, "d1"), idempotency.ErrNotOwner)
	_, err := s.Claim(ctx, k, "c", time.Minute, time.Hour, "d1")
	wantErr(t, "c claims b's lease", err, idempotency.ErrHeld)
	must(t, "b finishes", s.Finish(ctx, b, "d2"))
	for _, r := range []string{"d1", "d2"} {
		if c := claim(t, s, k, "c", r); !c.Done {
			t.Errorf("%s: not done", r)
		} else {
			must(t, "release", s.Finish(ctx, c, ""))
		}
	}
}

// testClaimContention: Contenders goroutines claim one key at once, round after round:
// one wins (see Features.ConditionalWriteRaces), the others see ErrHeld.
func testClaimContention(t *testing.T, newClaims func(*testing.T, *Clock) idempotency.Claims, f Features) {
	s := newClaims(t, NewClock())
	for round := range f.ContentionRounds {
		k := key(t)
		var wins, held atomic.Int32
		errs := make(chan error, f.Contenders)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range f.Contenders {
			wg.Go(func() {
				<-start
				_, err := s.Claim(ctx, k, fmt.Sprintf("owner-%d", i), time.Minute, time.Hour, "d")
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, idempotency.ErrHeld):
					held.Add(1)
				default:
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if wins.Load() < 1 || wins.Load()+held.Load() != int32(f.Contenders) || (!f.ConditionalWriteRaces && wins.Load() != 1) {
			t.Fatalf("round %d: %d winners and %d held of %d contenders", round, wins.Load(), held.Load(), f.Contenders)
		}
	}
}
