// Package memstore is the in-memory twin of the DynamoDB idempotency store
// (internal/idempotency/dynamostore), for tests and local runs: the same leases and
// completion records, with a clock that tests can set.
//
// Difference from DynamoDB, on purpose: an expired entry is dropped when it is next
// looked at, not by a background sweep.
package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency"
)

var _ idempotency.Store = (*Store)(nil)

// Store is safe for concurrent use. Make it with New.
type Store struct {
	now func() time.Time

	mu      sync.Mutex
	leases  map[string]lease
	records map[string]time.Time // key → expiry
}

type lease struct {
	owner string
	until time.Time
}

// New makes an empty store reading time from now (nil: time.Now).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, leases: map[string]lease{}, records: map[string]time.Time{}}
}

// Acquire implements idempotency.Leases.
func (s *Store) Acquire(ctx context.Context, key, owner string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[key]; ok && l.owner != owner && l.until.After(now) {
		return fmt.Errorf("%w: %q until %s", idempotency.ErrHeld, key, l.until.UTC().Format(time.RFC3339Nano))
	}
	s.leases[key] = lease{owner: owner, until: now.Add(ttl)}
	return nil
}

// Release implements idempotency.Leases.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[key]; !ok || l.owner != owner {
		return fmt.Errorf("%w: %q", idempotency.ErrNotOwner, key)
	}
	delete(s.leases, key)
	return nil
}

// Complete implements idempotency.Records.
func (s *Store) Complete(ctx context.Context, key string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key] = now.Add(ttl)
	return nil
}

// Completed implements idempotency.Records.
func (s *Store) Completed(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.records[key]
	if ok && !until.After(now) {
		delete(s.records, key)
		ok = false
	}
	return ok, nil
}
