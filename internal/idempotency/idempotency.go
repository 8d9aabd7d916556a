// Package idempotency is the port that makes an action's effects happen once although
// EventBridge delivers at least once and concurrently: leases, so that one delivery at a
// time works on an entity, and completion records, so that a delivery already handled is
// skipped without calling the Peerdom API. It is the shape of the idempotency utility of
// AWS Lambda Powertools (Python, TypeScript), which Go lacks.
//
// internal/idempotency/dynamostore implements Store with one DynamoDB table,
// internal/idempotency/memstore in memory; internal/idempotency/storetest is the
// conformance suite both pass. Standard library only.
//
// Time is the store's own clock (the caller's, not the database's): an entry whose expiry
// is not after now counts as absent, whether or not it has been deleted yet — DynamoDB's
// TTL deletes expired items only eventually (within days), moto never.
package idempotency

import (
	"context"
	"errors"
	"time"
)

// Leases are mutual exclusion with expiry, one lease per key.
type Leases interface {
	// Acquire takes the lease on key for owner until now+ttl. It succeeds when nobody
	// holds the lease, when the holder's lease has expired (a crashed holder does not
	// block forever), or when owner already holds it (which extends it). Otherwise it
	// returns an error wrapping ErrHeld.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) error
	// Release ends owner's lease on key. It returns an error wrapping ErrNotOwner when
	// owner does not hold it (never did, released it, or lost it to a takeover after it
	// expired), and then changes nothing.
	Release(ctx context.Context, key, owner string) error
}

// Records remember which keys are done, each for a while.
type Records interface {
	// Complete records key as done for ttl; a second Complete restarts the ttl.
	Complete(ctx context.Context, key string, ttl time.Duration) error
	// Completed reports whether key is recorded done and the record has not expired.
	Completed(ctx context.Context, key string) (bool, error)
}

// Store is both. Lease keys and record keys are separate spaces: the same string may be
// used as a lease key and a record key.
type Store interface {
	Leases
	Records
}

var (
	// ErrHeld: another owner holds an unexpired lease on the key; try again later.
	ErrHeld = errors.New("idempotency: lease held by another owner")
	// ErrNotOwner: the caller does not hold the lease it tried to release.
	ErrNotOwner = errors.New("idempotency: lease not held by this owner")
)
