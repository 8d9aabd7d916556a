// Package statetest is the conformance suite of state.Store: memstate runs it in memory
// and dynamostate over the wire against moto, so the twin and the adapter are held to
// the same behaviour.
package statetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// NewStore returns an empty store.
type NewStore func(t *testing.T) state.Store

// Features are what differs between implementations.
type Features struct {
	// ContentionRounds is how many rounds the concurrency test runs; over the wire a
	// round costs milliseconds, in memory microseconds.
	ContentionRounds int
	// ConditionalWriteRaces: the backend checks a write's condition and writes without a
	// lock between the two, so an older read racing a newer one can land last. moto
	// 5.2.1's DynamoDB does (its put_item holds no lock); DynamoDB evaluates conditions
	// atomically. The contention test then holds only the adapter's side: no error, the
	// newest read reported stored, and the stored record one of the reads, whole.
	ConditionalWriteRaces bool
}

var ctx = context.Background()

// t0 has nanoseconds: a store must compare reads a microsecond apart.
var t0 = time.Date(2026, 12, 1, 1, 0, 0, 123456789, time.UTC)

// Run runs the suite, its tests in parallel (each on a store of its own).
func Run(t *testing.T, newStore NewStore, f Features) {
	if f.ContentionRounds <= 0 {
		f.ContentionRounds = 10
	}
	t.Run("PutGetRoundTrip", func(t *testing.T) { t.Parallel(); testRoundTrip(t, newStore(t)) })
	t.Run("OlderReadNeverOverwritesNewer", func(t *testing.T) { t.Parallel(); testOlderRead(t, newStore(t)) })
	t.Run("TombstoneIsNotResurrectedByAnOlderRead", func(t *testing.T) { t.Parallel(); testTombstone(t, newStore(t)) })
	t.Run("EntitiesAreSeparate", func(t *testing.T) { t.Parallel(); testEntities(t, newStore(t)) })
	t.Run("AllListsEveryRecord", func(t *testing.T) { t.Parallel(); testAll(t, newStore(t)) })
	t.Run("Baseline", func(t *testing.T) { t.Parallel(); testBaseline(t, newStore(t)) })
	t.Run("ConcurrentPutsKeepTheNewest", func(t *testing.T) { t.Parallel(); testContention(t, newStore(t), f) })
}

func obj(name string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":"x","name":%q}`, name))
}

func put(t *testing.T, s state.Store, r state.Record) bool {
	t.Helper()
	ok, err := s.Put(ctx, r)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return ok
}

func get(t *testing.T, s state.Store, e peerdom.Entity, id string) (state.Record, bool) {
	t.Helper()
	r, ok, err := s.Get(ctx, e, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return r, ok
}

func same(a, b state.Record) bool {
	return a.Entity == b.Entity && a.ID == b.ID && string(a.Object) == string(b.Object) && a.Hash == b.Hash &&
		a.Deleted == b.Deleted && a.LearnedAt.Equal(b.LearnedAt) && a.Source == b.Source && a.Organization == b.Organization
}

func testRoundTrip(t *testing.T, s state.Store) {
	if _, ok := get(t, s, peerdom.EntityRole, "r1"); ok {
		t.Fatal("a record in an empty store")
	}
	want := state.NewRecord(peerdom.EntityRole, "r1", obj("Ops"), t0, state.FromWebhook)
	want.Organization = "acme"
	if !put(t, s, want) {
		t.Fatal("first Put refused")
	}
	got, ok := get(t, s, peerdom.EntityRole, "r1")
	if !ok || !same(got, want) {
		t.Fatalf("Get = %+v, %v; want %+v", got, ok, want)
	}
	if got.Hash != state.HashOf(obj("Ops")) || got.Hash == state.HashOf(obj("Dev")) {
		t.Errorf("hash %q does not tell the content", got.Hash)
	}
}

func testOlderRead(t *testing.T, s state.Store) {
	newer := state.NewRecord(peerdom.EntityPeer, "p1", obj("new"), t0.Add(time.Microsecond), state.FromWebhook)
	older := state.NewRecord(peerdom.EntityPeer, "p1", obj("old"), t0, state.FromReconcile)
	put(t, s, newer)
	if put(t, s, older) {
		t.Error("an older read was stored over a newer one")
	}
	if got, _ := get(t, s, peerdom.EntityPeer, "p1"); !same(got, newer) {
		t.Errorf("stored %+v, want the newer %+v", got, newer)
	}
	again := newer
	again.Source = state.FromReconcile
	if !put(t, s, again) {
		t.Error("the same read recorded again was refused")
	}
	newest := state.NewRecord(peerdom.EntityPeer, "p1", obj("newest"), t0.Add(time.Second), state.FromReconcile)
	if !put(t, s, newest) {
		t.Error("a newer read was refused")
	}
	if got, _ := get(t, s, peerdom.EntityPeer, "p1"); !same(got, newest) {
		t.Errorf("stored %+v, want %+v", got, newest)
	}
}

func testTombstone(t *testing.T, s state.Store) {
	put(t, s, state.NewRecord(peerdom.EntityGroup, "g1", obj("G"), t0, state.FromReconcile))
	gone := state.Tombstone(peerdom.EntityGroup, "g1", t0.Add(time.Minute), state.FromWebhook)
	if !put(t, s, gone) {
		t.Fatal("tombstone refused")
	}
	if put(t, s, state.NewRecord(peerdom.EntityGroup, "g1", obj("G"), t0.Add(time.Second), state.FromReconcile)) {
		t.Error("an older read resurrected a deleted entity")
	}
	got, ok := get(t, s, peerdom.EntityGroup, "g1")
	if !ok || !same(got, gone) {
		t.Errorf("Get = %+v, %v; want the tombstone %+v", got, ok, gone)
	}
}

func testEntities(t *testing.T, s state.Store) {
	role := state.NewRecord(peerdom.EntityRole, "same-id", obj("role"), t0.Add(time.Hour), state.FromReconcile)
	peer := state.NewRecord(peerdom.EntityPeer, "same-id", obj("peer"), t0, state.FromReconcile)
	put(t, s, role)
	if !put(t, s, peer) {
		t.Fatal("a peer's record was compared with a role's of the same id")
	}
	if got, _ := get(t, s, peerdom.EntityRole, "same-id"); !same(got, role) {
		t.Errorf("role = %+v", got)
	}
	if got, _ := get(t, s, peerdom.EntityPeer, "same-id"); !same(got, peer) {
		t.Errorf("peer = %+v", got)
	}
}

func testAll(t *testing.T, s state.Store) {
	var want []state.Record
	for i := range 60 { // more than a small scan page
		e := []peerdom.Entity{peerdom.EntityRole, peerdom.EntityGroup, peerdom.EntityPeer}[i%3]
		r := state.NewRecord(e, fmt.Sprintf("id-%02d", i), obj(fmt.Sprint(i)), t0.Add(time.Duration(i)), state.FromReconcile)
		if i%7 == 0 {
			r = state.Tombstone(e, r.ID, r.LearnedAt, state.FromWebhook)
		}
		put(t, s, r)
		want = append(want, r)
	}
	if err := s.SetBaseline(ctx, t0); err != nil { // not a record
		t.Fatal(err)
	}
	got, err := s.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("All = %d records, want %d", len(got), len(want))
	}
	byKey := func(a, b state.Record) int {
		if a.Entity != b.Entity {
			return cmpString(string(a.Entity), string(b.Entity))
		}
		return cmpString(a.ID, b.ID)
	}
	slices.SortFunc(got, byKey)
	slices.SortFunc(want, byKey)
	for i := range want {
		if !same(got[i], want[i]) {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testBaseline(t *testing.T, s state.Store) {
	if _, ok, err := s.Baseline(ctx); err != nil || ok {
		t.Fatalf("Baseline of an empty store = %v, %v", ok, err)
	}
	if err := s.SetBaseline(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBaseline(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Baseline(ctx)
	if err != nil || !ok || !got.Equal(t0) {
		t.Errorf("Baseline = %v, %v, %v; want the first time %v", got, ok, err, t0)
	}
}

// testContention: writers with reads of random times race on one entity; the newest
// read is what stays, and it was reported stored.
func testContention(t *testing.T, s state.Store, f Features) {
	const writers = 8
	raced := 0
	defer func() {
		if raced > 0 {
			t.Logf("an older read landed last in %d of %d rounds (ConditionalWriteRaces)", raced, f.ContentionRounds)
		}
	}()
	for round := range f.ContentionRounds {
		id := fmt.Sprintf("race-%d", round)
		offsets := rand.Perm(writers)
		var wg sync.WaitGroup
		stored := make([]bool, writers)
		errs := make([]error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := state.NewRecord(peerdom.EntityRole, id, obj(fmt.Sprint(offsets[w])), t0.Add(time.Duration(offsets[w])*time.Millisecond), state.FromReconcile)
				stored[w], errs[w] = s.Put(ctx, r)
			}()
		}
		wg.Wait()
		newest := slices.Index(offsets, writers-1)
		for w, err := range errs {
			if err != nil {
				t.Fatalf("round %d writer %d: %v", round, w, err)
			}
		}
		if !stored[newest] {
			t.Fatalf("round %d: the newest read was refused", round)
		}
		got, _ := get(t, s, peerdom.EntityRole, id)
		if f.ConditionalWriteRaces && string(got.Object) != string(obj(fmt.Sprint(writers-1))) {
			// Whole: the object is the one read at the stored time.
			if n := got.LearnedAt.Sub(t0) / time.Millisecond; string(got.Object) != string(obj(fmt.Sprint(n))) {
				t.Fatalf("round %d: stored %s learned at +%dms: a record of two reads", round, got.Object, n)
			}
			raced++
			continue
		}
		if string(got.Object) != string(obj(fmt.Sprint(writers-1))) {
			t.Fatalf("round %d: stored %s, want the newest read", round, got.Object)
		}
	}
}
