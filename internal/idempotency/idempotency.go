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
	"slices"
	"strings"
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

// Claims are a lease and the completion records of the deliveries that held it, kept
// together (one item in DynamoDB), so that a delivery costs two writes and no read:
// Claim takes the lease and answers whether the delivery is already done; Finish ends
// the lease and records the delivery done. Leases and Records cost two reads and three
// writes for the same (Completed, Acquire, Completed, Complete, Release). Claim keys
// are a space of their own, apart from lease and record keys.
type Claims interface {
	// Claim takes the lease on key for owner until now+ttl, as Leases.Acquire does (free,
	// expired, or already owner's; else an error wrapping ErrHeld), and reports in
	// Claim.Done whether record was recorded done on key and has not expired. The key's
	// records are kept for at least remember after the claim.
	Claim(ctx context.Context, key, owner string, ttl, remember time.Duration, record string) (Claim, error)
	// Finish ends c's lease and, when record is not empty, records it done on c.Key for
	// c.Remember, in one write. When c.Owner no longer holds the lease (it expired and was
	// taken over), the lease is left as it is and Finish returns an error wrapping
	// ErrNotOwner; the record is then written apart (a second write), since the effect
	// happened. A key keeps at most MaxRecords records, the latest.
	Finish(ctx context.Context, c Claim, record string) error
}

// Claim is a lease taken by Claims.Claim.
type Claim struct {
	Key, Owner string
	Remember   time.Duration
	Done       bool // the record asked about is recorded done
	// Expired lists the key's expired records, which Finish removes; Oldest the oldest of
	// the others beyond MaxRecords-1, which Finish removes when it adds a record.
	Expired, Oldest []string
}

// MaxRecords bounds a claim key's records, so that its item stays under 1 KB (DynamoDB
// bills a write unit per KB; a record is ~60 bytes): an entity's latest 8 deliveries,
// more than EventBridge redelivers at once.
const MaxRecords = 8

// StaleRecords is Claim.Expired and Claim.Oldest for records (name → expiry) at now.
func StaleRecords(records map[string]time.Time, now time.Time) (expired, oldest []string) {
	var stale []string
	type rec struct {
		name  string
		until time.Time
	}
	var live []rec
	for name, until := range records {
		if !until.After(now) {
			stale = append(stale, name)
		} else {
			live = append(live, rec{name, until})
		}
	}
	slices.Sort(stale)
	if extra := len(live) - (MaxRecords - 1); extra > 0 {
		slices.SortFunc(live, func(a, b rec) int {
			if c := a.until.Compare(b.until); c != 0 {
				return c
			}
			return strings.Compare(a.name, b.name)
		})
		for _, r := range live[:extra] {
			oldest = append(oldest, r.name)
		}
	}
	return stale, oldest
}

// Removed is what Finish removes of c's records when it adds record ("" for none).
func (c Claim) Removed(record string) []string {
	out := slices.Clone(c.Expired)
	if record != "" {
		out = append(out, c.Oldest...)
	}
	return slices.DeleteFunc(out, func(name string) bool { return name == record })
}
