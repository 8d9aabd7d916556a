package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Snapshot is the detail of a "<Entity> Snapshot" event (e.g. "Role Snapshot"): the
// entity as the API returns it, custom fields included, published after a change to it.
type Snapshot struct {
	ID           string          `json:"id"`        // this snapshot's id: the same for every retry of the same cause
	CausedBy     string          `json:"causedBy"`  // detail.id of the event that caused it
	CauseType    string          `json:"causeType"` // its detail-type, e.g. "Role Updated"
	TakenAt      time.Time       `json:"takenAt"`   // when the API was read
	Entity       peerdom.Entity  `json:"entity"`    // role, group or peer
	EntityID     string          `json:"entityId"`  // the entity's id
	Organization string          `json:"organization,omitempty"`
	Object       json.RawMessage `json:"object"` // the API's JSON, unknown fields included
}

// SnapshotDetailType is the detail-type of an entity's snapshots: "Role Snapshot", ...
func SnapshotDetailType(e peerdom.Entity) string {
	switch e {
	case peerdom.EntityRole:
		return "Role Snapshot"
	case peerdom.EntityGroup:
		return "Group Snapshot"
	case peerdom.EntityPeer:
		return "Peer Snapshot"
	}
	return ""
}

// Enrich publishes, for every created or updated role, group or peer, a snapshot of the
// entity read from the API: the structured data the webhook text lacks.
//
// With a State it also keeps the entity state current from the webhook path, from the
// same read: the snapshot's object is recorded as the entity's state, and a deleted
// entity's tombstone is recorded (no read, no snapshot). Reconciliation then never
// reports again a change a webhook reported. One function for both because the read
// is the cost: a separate action would read every changed entity twice.
type Enrich struct {
	API    *peerdomapi.Client
	Bus    Publisher        // where the snapshots go
	Source string           // the source of the snapshot events (EVENT_SOURCE)
	Now    func() time.Time // nil: time.Now
	State  EntityState      // nil: no entity state is kept
}

// Publisher puts an event on an event bus (EventBridge's PutEvents, in a Lambda function)
// and returns the bus's event id. detail is the event's detail, a JSON object.
type Publisher interface {
	Publish(ctx context.Context, source, detailType string, detail json.RawMessage, at time.Time) (eventID string, err error)
}

// EntityState is reconciliation's entity state as the webhook path keeps it current:
// peerbridge's enrich function and serve give one, from the state reconciliation compares
// the API with (docs/contract.md, "Events found by reconciliation").
type EntityState interface {
	// RecordRead records obj, read at readAt after d's webhook, as entity id's state: for
	// an update only the fields d reports changed. It returns false, recording nothing,
	// for an update of an entity the state does not know: reconciliation reports it
	// created, this change in it.
	RecordRead(ctx context.Context, d peerdom.Detail, id string, obj json.RawMessage, readAt time.Time) (bool, error)
	// RecordDeleted records d's entity (d.EntityID) deleted at at.
	RecordDeleted(ctx context.Context, d peerdom.Detail, at time.Time) error
}

// NewEnrich checks the configuration.
func NewEnrich(api *peerdomapi.Client, b Publisher, source string) (*Enrich, error) {
	if b == nil {
		return nil, errors.New("enrich: no event bus")
	}
	if source == "" {
		source = peerdom.DefaultSource
	}
	return &Enrich{API: api, Bus: b, Source: source}, nil
}

// Handle acts on Created and Updated events of any entity; deleted entities cannot be read.
func (e *Enrich) Handle(ctx context.Context, ev Event) error {
	d := ev.Detail
	if ev.DetailType != d.DetailType() {
		// Snapshots carry an entity too; never snapshot a snapshot.
		return Ignore(fmt.Sprintf("detail-type %q is not a webhook event", ev.DetailType))
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	if d.Action == peerdom.ActionDeleted && e.State != nil && d.Recognized() {
		return e.recordDeleted(ctx, d, now().UTC())
	}
	if d.Action != peerdom.ActionCreated && d.Action != peerdom.ActionUpdated {
		return Ignore("enrich acts on created and updated entities only")
	}
	id, err := ResolveID(ctx, e.API, d)
	if err != nil {
		return err
	}
	if d.EntityID == "" {
		Note(ctx, "resolvedEntityId", id) // found by name
	}
	var obj json.RawMessage
	opts := peerdomapi.Options{CustomFields: true}
	readAt := now().UTC() // before the read: a read begun later wins in the state
	switch d.Entity {
	case peerdom.EntityRole:
		obj, err = e.API.Roles().GetRaw(ctx, id, opts)
	case peerdom.EntityGroup:
		obj, err = e.API.Groups().GetRaw(ctx, id, opts)
	case peerdom.EntityPeer:
		obj, err = e.API.Peers().GetRaw(ctx, id, opts)
	}
	if err != nil {
		return fmt.Errorf("enrich: reading %s %s: %w", d.Entity, id, Gone(string(d.Entity)+" "+id, err))
	}
	if e.State != nil {
		if err := e.record(ctx, d, id, obj, readAt); err != nil {
			return err
		}
	}
	snap := Snapshot{ID: snapshotID(d.ID, id), CausedBy: d.ID, CauseType: ev.DetailType, TakenAt: now().UTC(),
		Entity: d.Entity, EntityID: id, Organization: d.Organization, Object: obj}
	// Without HTML escaping, as the webhook events: a '<' takes one byte of the bus's
	// 256 KB, not six.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(snap); err != nil {
		return fmt.Errorf("enrich: encoding the snapshot: %w", err)
	}
	detail := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if _, err := e.Bus.Publish(ctx, e.Source, SnapshotDetailType(d.Entity), detail, snap.TakenAt); err != nil {
		return fmt.Errorf("enrich: publishing %s: %w", SnapshotDetailType(d.Entity), err)
	}
	// The snapshot's detail id; its bus event id is left out of the line (issue 22: the
	// line is written for every change).
	Note(ctx, "snapshotId", snap.ID)
	return nil
}

// record keeps the entity state current: what the event reported, from this read.
func (e *Enrich) record(ctx context.Context, d peerdom.Detail, id string, obj json.RawMessage, readAt time.Time) error {
	ok, err := e.State.RecordRead(ctx, d, id, obj, readAt)
	if err != nil {
		return fmt.Errorf("enrich: %w", err)
	}
	if !ok {
		Note(ctx, "recorded", "no: entity unknown to the state")
	}
	return nil
}

// recordDeleted records a deleted entity's tombstone. Without an id (a message whose
// link has none) the entity cannot be looked up any more; reconciliation will find it gone.
func (e *Enrich) recordDeleted(ctx context.Context, d peerdom.Detail, at time.Time) error {
	if d.EntityID == "" {
		return Ignore("a deleted entity without an id: left to reconciliation")
	}
	if err := e.State.RecordDeleted(ctx, d, at); err != nil {
		return fmt.Errorf("enrich: %w", err)
	}
	Note(ctx, "recorded", "deleted")
	return nil
}

// snapshotID derives the snapshot's id from its cause (peerdom.DerivedID), so that a
// retried event publishes a snapshot with the same id and consumers de-duplicate on it
// as on any detail.id.
func snapshotID(causedBy, entityID string) string {
	if causedBy == "" {
		return peerdom.NewDeliveryID()
	}
	return peerdom.DerivedID("peerbridge snapshot", causedBy, entityID)
}
