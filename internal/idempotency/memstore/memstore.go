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
	claims  map[string]*claim
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
	return &Store{now: now, leases: map[string]lease{}, records: map[string]time.Time{}, claims: map[string]*claim{}}
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

var _ idempotency.Claims = (*Store)(nil)

type claim struct {
	owner   string
	until   time.Time // the lease's; zero when released
	records map[string]time.Time
}

// Claim implements idempotency.Claims.
func (s *Store) Claim(ctx context.Context, key, owner string, ttl, remember time.Duration, record string) (idempotency.Claim, error) {
	if err := ctx.Err(); err != nil {
		return idempotency.Claim{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.claims[key]
	if c == nil {
		c = &claim{records: map[string]time.Time{}}
		s.claims[key] = c
	}
	if c.owner != "" && c.owner != owner && c.until.After(now) {
		return idempotency.Claim{}, fmt.Errorf("%w: %q until %s", idempotency.ErrHeld, key, c.until.UTC().Format(time.RFC3339Nano))
	}
	c.owner, c.until = owner, now.Add(ttl)
	until, ok := c.records[record]
	expired, oldest := idempotency.StaleRecords(c.records, now)
	return idempotency.Claim{Key: key, Owner: owner, Remember: remember, Done: record != "" && ok && until.After(now),
		Expired: expired, Oldest: oldest}, nil
}

// Finish implements idempotency.Claims.
func (s *Store) Finish(ctx context.Context, cl idempotency.Claim, record string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.claims[cl.Key]
	if c == nil { // expired and swept: only a record remains to write
		c = &claim{records: map[string]time.Time{}}
		s.claims[cl.Key] = c
	}
	owned := c.owner == cl.Owner && !c.until.IsZero()
	if owned {
		for _, name := range cl.Removed(record) {
			delete(c.records, name)
		}
		c.owner, c.until = "", time.Time{}
	}
	if record != "" {
		c.records[record] = now.Add(cl.Remember)
	}
	if !owned {
		return fmt.Errorf("%w: %q", idempotency.ErrNotOwner, cl.Key)
	}
	return nil
}
