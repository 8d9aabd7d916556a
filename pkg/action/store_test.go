package action_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/pkg/action"
)

// userStore is an action.Store as a user's own module writes it, with nothing of
// peerbridge's internal packages: a map, and ErrLeaseHeld while a lease is held.
type userStore struct {
	mu      sync.Mutex
	leases  map[string]string
	done    map[string]bool
	refused int // Acquire calls answered ErrLeaseHeld
}

func (s *userStore) Acquire(_ context.Context, key, owner string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.leases[key]; ok && cur != owner {
		s.refused++
		delete(s.leases, key) // the other owner finishes while this one waits
		return fmt.Errorf("lease %s: %w", key, action.ErrLeaseHeld)
	}
	s.leases[key] = owner
	return nil
}

func (s *userStore) Release(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases[key] != owner {
		return fmt.Errorf("lease %s not held by %s", key, owner)
	}
	delete(s.leases, key)
	return nil
}

func (s *userStore) Complete(_ context.Context, key string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[key] = true
	return nil
}

func (s *userStore) Completed(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[key], nil
}

// TestOnceOnAUsersStore: Once on a Store of the user's own, its lease held by another
// owner at first: the delivery waits (ErrLeaseHeld), then runs once; a redelivery is
// skipped as already done.
func TestOnceOnAUsersStore(t *testing.T) {
	s := &userStore{leases: map[string]string{"demo/peer/id/p-1": "someone else"}, done: map[string]bool{}}
	calls := 0
	r := &action.Runner{Name: "demo", Logger: logging.Discard(), Once: &action.Once{Store: s, PollMin: time.Millisecond},
		Handler: action.HandlerFunc(func(context.Context, action.Event) error { calls++; return nil })}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev := peerCreated("d-1", "p-1")
	for range 2 {
		if err := r.Run(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if calls != 1 || s.refused == 0 || !s.done["demo/d-1"] || len(s.leases) != 0 {
		t.Fatalf("calls %d, refused %d, done %v, leases %v: want one call after waiting, the delivery recorded, no lease left", calls, s.refused, s.done, s.leases)
	}
}
