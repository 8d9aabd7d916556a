// Package reconcile finds the changes no webhook reported: it lists every role, group
// and peer from the Peerdom API (custom fields, a role's holders), compares them with
// the entity state (internal/state), publishes one event per difference as docs/contract.md
// ("Events found by reconciliation") says, and records what it read. Peerdom sends each webhook once; this is what makes
// a missed one visible.
//
// A run is safe to repeat and to overlap: a lease lets one run at a time work, each
// difference's event id is derived from the two states (a retried run publishes the
// same id), and a difference is recorded only once its event is on the bus, so a run cut
// short by its deadline leaves the rest to the next run.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/internal/entity"
	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// LeaseKey is the lease a run holds: one run at a time per organization's stack.
const LeaseKey = "reconcile"

// Reconciler runs reconciliations. Bus may be nil for a dry run: differences are
// reported, not published.
type Reconciler struct {
	API    *peerdomapi.Client
	State  state.Store
	Bus    bus.Putter
	Leases idempotency.Leases // nil: no lease (a single process, e.g. the command line)
	Source string             // the events' source; "" is peerdom.DefaultSource
	// Organization is detail.organization; "" takes the one webhooks named (the state's
	// records), as the API does not say it.
	Organization string
	Now          func() time.Time // nil: time.Now
	// Reserve is the time kept before the context's deadline: no new work starts within
	// it, so the run ends cleanly (and releases its lease) before Lambda stops it.
	Reserve time.Duration
	// Batch is how many differences are published, then recorded, at a time (default 50).
	Batch int
}

// Report is what a run did.
type Report struct {
	Baseline    bool            `json:"baseline,omitempty"`   // the first run: state recorded, nothing published
	Skipped     bool            `json:"skipped,omitempty"`    // another run holds the lease
	Incomplete  bool            `json:"incomplete,omitempty"` // stopped at the deadline; the next run resumes
	Listed      map[string]int  `json:"listed"`               // entities listed, by entity
	Differences int             `json:"differences"`          // differences found (events to publish)
	Published   int             `json:"published"`            // events on the bus
	Failed      int             `json:"failed,omitempty"`     // events the bus refused (retried next run)
	Recorded    int             `json:"recorded"`             // records written to the state
	Events      []peerdom.Event `json:"-"`                    // the events, published or (dry run) not
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// listing is one entity read from the API, and when its page was asked for.
type listing struct {
	entity peerdom.Entity
	id     string
	raw    json.RawMessage
	readAt time.Time
}

// listed is what a run read from the API.
type listed struct {
	items  []listing
	readAt map[peerdom.Entity]time.Time // when each kind's list began
}

// difference is a change to publish and the record to write once it is published.
type difference struct {
	event  peerdom.Event
	record state.Record
}

// Run runs one reconciliation.
func (r *Reconciler) Run(ctx context.Context) (Report, error) {
	rep := Report{Listed: map[string]int{}}
	reserve := r.Reserve
	if reserve == 0 {
		reserve = 10 * time.Second
	}
	work := ctx
	leaseTTL := 15 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
		leaseTTL = time.Until(dl) + time.Minute
	}
	if r.Leases != nil {
		owner := newOwner()
		if err := r.Leases.Acquire(ctx, LeaseKey, owner, leaseTTL); err != nil {
			if errors.Is(err, idempotency.ErrHeld) {
				rep.Skipped = true
				return rep, nil
			}
			return rep, err
		}
		defer func() { _ = r.Leases.Release(context.WithoutCancel(ctx), LeaseKey, owner) }()
	}

	read, err := r.list(work, &rep)
	if err != nil {
		if work.Err() != nil && ctx.Err() == nil {
			rep.Incomplete = true // the deadline came while listing: nothing was published
			return rep, nil
		}
		return rep, err
	}
	_, baselined, err := r.State.Baseline(ctx)
	if err != nil {
		return rep, err
	}
	if !baselined {
		return r.baseline(ctx, read.items, &rep)
	}
	records, err := r.State.All(ctx)
	if err != nil {
		return rep, err
	}
	org := r.Organization
	for i := 0; org == "" && i < len(records); i++ {
		org = records[i].Organization
	}
	diffs, err := r.diff(read, records, org)
	if err != nil {
		return rep, err
	}
	rep.Differences = len(diffs)
	stopBy, _ := work.Deadline() // the reserve before ctx's deadline finishes a batch begun
	return rep, r.publish(ctx, stopBy, diffs, &rep)
}

func newOwner() string { return "reconcile-" + peerdom.NewDeliveryID() }

// list reads every role, group and peer. listed.readAt tells, per kind, when its list
// began, even for an empty list.
func (r *Reconciler) list(ctx context.Context, rep *Report) (listed, error) {
	opts := peerdomapi.Options{CustomFields: true}
	// Peers who left are listed too (the API lists active peers only by default): a peer
	// who leaves is then an update of its Left field, not a deletion.
	peerOpts := peerdomapi.Options{CustomFields: true, IncludeFormer: true}
	out := listed{readAt: map[peerdom.Entity]time.Time{}}
	for _, s := range []struct {
		entity peerdom.Entity
		list   func(context.Context, peerdomapi.Options) iter.Seq2[json.RawMessage, error]
		opts   peerdomapi.Options
	}{
		{peerdom.EntityRole, r.API.Roles().ListRaw, opts},
		{peerdom.EntityGroup, r.API.Groups().ListRaw, opts},
		{peerdom.EntityPeer, r.API.Peers().ListRaw, peerOpts},
	} {
		// The time before the list began: a read that began later (a webhook's) wins.
		readAt := r.now()
		out.readAt[s.entity] = readAt
		for raw, err := range s.list(ctx, s.opts) {
			if err != nil {
				return out, fmt.Errorf("listing %ss: %w", s.entity, err)
			}
			var head struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &head) != nil || head.ID == "" {
				return out, fmt.Errorf("a listed %s has no id: %.200s", s.entity, raw)
			}
			out.items = append(out.items, listing{entity: s.entity, id: head.ID, raw: raw, readAt: readAt})
			rep.Listed[string(s.entity)]++
		}
	}
	return out, nil
}

// baseline records every listed entity and the baseline: the first run publishes nothing.
func (r *Reconciler) baseline(ctx context.Context, listed []listing, rep *Report) (Report, error) {
	rep.Baseline = true
	for _, l := range listed {
		ok, err := r.State.Put(ctx, state.NewRecord(l.entity, l.id, l.raw, l.readAt, state.FromReconcile))
		if err != nil {
			return *rep, err
		}
		if ok {
			rep.Recorded++
		}
	}
	return *rep, r.State.SetBaseline(ctx, r.now())
}

type entityKey struct {
	entity peerdom.Entity
	id     string
}

// names tells peers and circles by id: as listed now, else as last recorded (a
// deleted peer still has its name among a role's removed holders).
func names(listed []listing, records []state.Record) entity.NameOf {
	m := map[string]string{}
	add := func(e peerdom.Entity, id string, raw json.RawMessage) {
		if e == peerdom.EntityRole || len(raw) == 0 {
			return
		}
		if o, err := entity.ObjectOf(e, raw, nil); err == nil && o.Name != "" {
			m[id] = o.Name
		}
	}
	for _, rec := range records {
		add(rec.Entity, rec.ID, rec.Object)
	}
	for _, l := range listed {
		add(l.entity, l.id, l.raw)
	}
	return func(id string) string { return m[id] }
}

// diff compares the listing with the state: created, updated (by field), deleted.
func (r *Reconciler) diff(read listed, records []state.Record, org string) ([]difference, error) {
	nameOf := names(read.items, records)
	stored := make(map[entityKey]state.Record, len(records))
	for _, rec := range records {
		stored[entityKey{rec.Entity, rec.ID}] = rec
	}
	foundAt := r.now()
	var out []difference
	seen := make(map[entityKey]bool, len(read.items))
	for _, l := range read.items {
		k := entityKey{l.entity, l.id}
		seen[k] = true
		rec := state.NewRecord(l.entity, l.id, l.raw, l.readAt, state.FromReconcile)
		rec.Organization = org
		cur, ok := stored[k]
		if ok && (cur.LearnedAt.After(l.readAt) || cur.Hash == rec.Hash) {
			continue // known from a later read, or unchanged
		}
		if ok && cur.Deleted {
			// Found deleted before this list began, and listed now: it is back (a peer
			// who left was reported deleted before former peers were listed, and has
			// returned or is listed again). Reported created, as it was reported gone,
			// with an id of its own (not that of its first creation).
			after, err := entity.ObjectOf(l.entity, l.raw, nameOf)
			if err != nil {
				return nil, err
			}
			out = append(out, r.difference(foundAt, org, l.entity, l.id, "deleted", rec.Hash, entity.Difference{After: &after}, rec))
			continue
		}
		after, err := entity.ObjectOf(l.entity, l.raw, nameOf)
		if err != nil {
			return nil, err
		}
		d := entity.Difference{After: &after}
		beforeHash := ""
		if ok {
			before, err := entity.ObjectOf(l.entity, cur.Object, nameOf)
			if err != nil {
				return nil, err
			}
			d.Before, beforeHash = &before, cur.Hash
		}
		out = append(out, r.difference(foundAt, org, l.entity, l.id, beforeHash, rec.Hash, d, rec))
	}
	for _, cur := range records {
		k := entityKey{cur.Entity, cur.ID}
		if cur.Deleted || seen[k] {
			continue
		}
		at := read.readAt[cur.Entity]
		if cur.LearnedAt.After(at) {
			continue // created after the list was read
		}
		before, err := entity.ObjectOf(cur.Entity, cur.Object, nameOf)
		if err != nil {
			return nil, err
		}
		out = append(out, r.difference(foundAt, org, cur.Entity, cur.ID, cur.Hash, "deleted", entity.Difference{Before: &before},
			tombstone(cur.Entity, cur.ID, at, org)))
	}
	return out, nil
}

func tombstone(e peerdom.Entity, id string, at time.Time, org string) state.Record {
	rec := state.Tombstone(e, id, at, state.FromReconcile)
	rec.Organization = org
	return rec
}

// difference makes the event of a difference; an update that changes no field a message
// names (an avatar, a slug) has no event, only its record.
func (r *Reconciler) difference(foundAt time.Time, org string, e peerdom.Entity, id, beforeHash, afterHash string, d entity.Difference, rec state.Record) difference {
	detail, ok := entity.ReconcileDetail(entity.DifferenceID(e, id, beforeHash, afterHash), foundAt, org, d)
	if !ok {
		return difference{record: rec}
	}
	source := r.Source
	if source == "" {
		source = peerdom.DefaultSource
	}
	return difference{event: peerdom.Event{Source: source, DetailType: detail.DetailType(), Time: foundAt, Detail: detail}, record: rec}
}

// publish puts the events on the bus a batch at a time and records each difference once
// its event is on the bus. It stops before a batch when ctx has ended or stopBy (if not
// zero) has come: a batch begun is finished.
func (r *Reconciler) publish(ctx context.Context, stopBy time.Time, diffs []difference, rep *Report) error {
	batch := r.Batch
	if batch <= 0 {
		batch = 50
	}
	for start := 0; start < len(diffs); start += batch {
		if ctx.Err() != nil || (!stopBy.IsZero() && !time.Now().Before(stopBy)) {
			rep.Incomplete = true
			return nil
		}
		part := diffs[start:min(start+batch, len(diffs))]
		var entries []bus.Entry
		var idx []int
		for i, d := range part {
			if d.event.DetailType == "" {
				continue
			}
			rep.Events = append(rep.Events, d.event)
			if r.Bus == nil {
				continue
			}
			entry, err := busentry.FromEvent(d.event)
			if err != nil {
				return err
			}
			entries = append(entries, entry)
			idx = append(idx, i)
		}
		failed := map[int]bool{}
		if r.Bus != nil {
			for j, res := range bus.Publish(ctx, r.Bus, entries) {
				if res.Err != nil {
					failed[idx[j]] = true
					rep.Failed++
					continue
				}
				rep.Published++
			}
		}
		for i, d := range part {
			if failed[i] {
				continue // not on the bus: found again, with the same id, next run
			}
			ok, err := r.State.Put(ctx, d.record)
			if err != nil {
				return err
			}
			if ok {
				rep.Recorded++
			}
		}
	}
	return nil
}
