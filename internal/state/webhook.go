package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/peerbridge/peerbridge/internal/entity"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Webhook keeps a Store current from the webhook path (pkg/action's EntityState, which
// enrich records through): what each event reported, from enrich's read of the entity.
type Webhook struct{ Store }

// RecordRead records obj, read at readAt after d's webhook, as entity id's state. An
// update takes only the fields the message changed (entity.MergeReported), so a change
// the read shows but no webhook reported is still found by reconciliation. It returns
// false, recording nothing, for an update of an entity the state does not know (a missed
// webhook, or before the first reconciliation): reconciliation reports it created, with
// this change in it.
func (w Webhook) RecordRead(ctx context.Context, d peerdom.Detail, id string, obj json.RawMessage, readAt time.Time) (bool, error) {
	merged := obj
	if d.Action == peerdom.ActionUpdated {
		cur, ok, err := w.Get(ctx, d.Entity, id)
		if err != nil {
			return false, fmt.Errorf("reading the state of %s %s: %w", d.Entity, id, err)
		}
		if !ok || cur.Deleted {
			return false, nil
		}
		if d.Entity == peerdom.EntityRole {
			obj = keepHolders(cur.Object, obj)
		}
		if merged, err = entity.MergeReported(d.Entity, cur.Object, obj, d.ChangedFields); err != nil {
			return false, err
		}
	}
	rec := NewRecord(d.Entity, id, merged, readAt, FromWebhook)
	rec.Organization = d.Organization
	if _, err := w.Put(ctx, rec); err != nil {
		return false, fmt.Errorf("recording %s %s: %w", d.Entity, id, err)
	}
	return true, nil
}

// RecordDeleted records the tombstone of d's entity (d.EntityID), deleted at at.
func (w Webhook) RecordDeleted(ctx context.Context, d peerdom.Detail, at time.Time) error {
	rec := Tombstone(d.Entity, d.EntityID, at, FromWebhook)
	rec.Organization = d.Organization
	if _, err := w.Put(ctx, rec); err != nil {
		return fmt.Errorf("recording %s %s deleted: %w", d.Entity, d.EntityID, err)
	}
	return nil
}

// keepHolders gives a role read without a "holders" key (whether a read of one role
// carries them is unverified) the holders last recorded, so that the state does not
// lose them; reconciliation's list, which carries them, corrects them if they changed.
func keepHolders(stored, read json.RawMessage) json.RawMessage {
	var r map[string]json.RawMessage
	if json.Unmarshal(read, &r) != nil || r == nil {
		return read
	}
	if _, ok := r["holders"]; ok {
		return read
	}
	var s map[string]json.RawMessage
	if json.Unmarshal(stored, &s) != nil {
		return read
	}
	h, ok := s["holders"]
	if !ok {
		return read
	}
	r["holders"] = h
	b, err := json.Marshal(r)
	if err != nil {
		return read
	}
	return b
}
