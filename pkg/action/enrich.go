package action

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
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
type Enrich struct {
	API    *peerdomapi.Client
	Bus    bus.Putter
	Source string           // the source of the snapshot events (EVENT_SOURCE)
	Now    func() time.Time // nil: time.Now
}

// NewEnrich checks the configuration.
func NewEnrich(api *peerdomapi.Client, b bus.Putter, source string) (*Enrich, error) {
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
	if d.Action != peerdom.ActionCreated && d.Action != peerdom.ActionUpdated {
		return Ignore("enrich acts on created and updated entities only")
	}
	if ev.DetailType != d.DetailType() {
		// Snapshots carry an entity too; never snapshot a snapshot.
		return Ignore(fmt.Sprintf("detail-type %q is not a webhook event", ev.DetailType))
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
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	snap := Snapshot{ID: snapshotID(d.ID, id), CausedBy: d.ID, CauseType: ev.DetailType, TakenAt: now().UTC(),
		Entity: d.Entity, EntityID: id, Organization: d.Organization, Object: obj}
	detail, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("enrich: encoding the snapshot: %w", err)
	}
	entry := bus.Entry{Source: e.Source, DetailType: SnapshotDetailType(d.Entity), Detail: string(detail), Time: snap.TakenAt}
	res := bus.Publish(ctx, e.Bus, []bus.Entry{entry})
	if res[0].Err != nil {
		return fmt.Errorf("enrich: publishing %s: %w", entry.DetailType, res[0].Err)
	}
	Note(ctx, "snapshotId", snap.ID)
	Note(ctx, "snapshotEventId", res[0].EventID)
	return nil
}

// snapshotID derives the snapshot's id from its cause, so that a retried event publishes
// a snapshot with the same id and consumers de-duplicate on it as on any detail.id. It
// is a UUID of version 8 (RFC 9562: custom) made from a SHA-256 of the cause.
func snapshotID(causedBy, entityID string) string {
	if causedBy == "" {
		return peerdom.NewDeliveryID()
	}
	sum := sha256.Sum256([]byte("peerbridge snapshot\x00" + causedBy + "\x00" + entityID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
