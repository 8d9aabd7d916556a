// Package state is the port that remembers, per entity (role, group, peer), the last
// object peerbridge knows of it: the API's JSON (custom fields, a role's holders), a
// content hash, and when and how it was learned (a webhook's read or reconciliation).
// Reconciliation diffs the API against it; the webhook path keeps it current.
//
// Writes are conditional on the time of the read: a record learned earlier never
// replaces one learned later, so a slow reconciliation cannot undo what a webhook's
// newer read recorded. A deleted entity stays as a tombstone for the same reason.
//
// internal/state/dynamostate implements Store with one DynamoDB table,
// internal/state/memstate in memory; internal/state/statetest is the conformance
// suite both pass. Standard library and pkg/peerdom only.
package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Source says how a record was learned.
type Source string

// The sources of a record.
const (
	FromWebhook   Source = "webhook"   // the webhook path read the entity after its webhook
	FromReconcile Source = "reconcile" // reconciliation listed it
)

// Record is what the store knows of one entity.
type Record struct {
	Entity    peerdom.Entity  `json:"entity"`
	ID        string          `json:"id"`
	Object    json.RawMessage `json:"object,omitempty"`  // the API's JSON; nil on a tombstone
	Hash      string          `json:"hash,omitempty"`    // HashOf(Object); "" on a tombstone
	Deleted   bool            `json:"deleted,omitempty"` // a tombstone: the entity is gone
	LearnedAt time.Time       `json:"learnedAt"`         // when the API was read (or the deletion learned)
	Source    Source          `json:"source"`
	// Organization is the organization a webhook named (detail.organization); the API
	// does not say it, so reconciliation takes it from here.
	Organization string `json:"organization,omitempty"`
}

// Store keeps records. Implementations are safe for concurrent use.
type Store interface {
	// Put stores rec unless the stored record of the same entity was learned later; it
	// reports whether rec was stored. A record learned at the same time replaces it (the
	// same read recorded twice).
	Put(ctx context.Context, rec Record) (bool, error)
	// Get returns the record of an entity, tombstones included, and whether there is one.
	Get(ctx context.Context, e peerdom.Entity, id string) (Record, bool, error)
	// All returns every record, tombstones included, in no particular order.
	All(ctx context.Context) ([]Record, error)
	// Baseline returns when the first reconciliation recorded the organization, and
	// false before that: a first run publishes nothing.
	Baseline(ctx context.Context) (time.Time, bool, error)
	// SetBaseline records that the baseline was taken at t (the first time only: a
	// later call keeps the first time).
	SetBaseline(ctx context.Context, t time.Time) error
}

// HashOf is the content hash of an API object: SHA-256 of its compact JSON, hex.
func HashOf(obj json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, obj) != nil {
		b.Reset()
		b.Write(obj)
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

// NewRecord is the record of an object read at learnedAt, its hash filled in.
func NewRecord(e peerdom.Entity, id string, obj json.RawMessage, learnedAt time.Time, src Source) Record {
	return Record{Entity: e, ID: id, Object: obj, Hash: HashOf(obj), LearnedAt: learnedAt, Source: src}
}

// Tombstone is the record of an entity found deleted at learnedAt.
func Tombstone(e peerdom.Entity, id string, learnedAt time.Time, src Source) Record {
	return Record{Entity: e, ID: id, Deleted: true, LearnedAt: learnedAt, Source: src}
}
