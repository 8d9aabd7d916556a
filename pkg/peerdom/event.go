package peerdom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultSource is the EventBridge source used when none is configured.
const DefaultSource = "peerdom"

// Entity is the kind of Peerdom object a message is about.
type Entity string

// The entities of the contract. Peerdom's "Circle" is reported as EntityGroup and
// "Member" as EntityPeer.
const (
	EntityRole  Entity = "role"
	EntityGroup Entity = "group"
	EntityPeer  Entity = "peer"
)

// Action is what happened to the entity.
type Action string

// The actions of the contract.
const (
	ActionCreated Action = "created"
	ActionUpdated Action = "updated"
	ActionDeleted Action = "deleted"
)

// DetailTypeUnrecognized is the detail-type of a message whose header was not understood.
const DetailTypeUnrecognized = "Unrecognized Message"

// DetailType is the EventBridge detail-type for an entity and action, e.g. "Role Created".
// It is DetailTypeUnrecognized when either is unknown.
func DetailType(e Entity, a Action) string {
	if t, ok := detailTypes[entityAction{e, a}]; ok {
		return t
	}
	return DetailTypeUnrecognized
}

var entityTitles = map[Entity]string{EntityRole: "Role", EntityGroup: "Group", EntityPeer: "Peer"}
var actionTitles = map[Action]string{ActionCreated: "Created", ActionUpdated: "Updated", ActionDeleted: "Deleted"}

type entityAction struct {
	entity Entity
	action Action
}

// detailTypes holds every recognized detail-type, built once so that naming one does
// not allocate.
var detailTypes = func() map[entityAction]string {
	m := map[entityAction]string{}
	for e, en := range entityTitles {
		for a, an := range actionTitles {
			m[entityAction{e, a}] = en + " " + an
		}
	}
	return m
}()

// DetailTypes lists every detail-type the parser can produce, unrecognized last.
func DetailTypes() []string {
	var out []string
	for _, e := range []Entity{EntityRole, EntityGroup, EntityPeer} {
		for _, a := range []Action{ActionCreated, ActionUpdated, ActionDeleted} {
			out = append(out, DetailType(e, a))
		}
	}
	return append(out, DetailTypeUnrecognized)
}

// Author is the person who made a change. Either field may be empty when unknown.
type Author struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Change is one diff line of an updated message: a scalar change (Old → New) or, when
// IsList is true, a list change (Added and Removed items).
type Change struct {
	Field   string
	IsList  bool
	Old     string
	New     string
	Added   []string
	Removed []string
}

// MarshalJSON writes {"field","old","new"} for a scalar change and
// {"field","added","removed"} (arrays never null) for a list change.
func (c Change) MarshalJSON() ([]byte, error) {
	if c.IsList {
		return marshalText(struct {
			Field   string   `json:"field"`
			Added   []string `json:"added"`
			Removed []string `json:"removed"`
		}{c.Field, nonNil(c.Added), nonNil(c.Removed)})
	}
	return marshalText(struct {
		Field string `json:"field"`
		Old   string `json:"old"`
		New   string `json:"new"`
	}{c.Field, c.Old, c.New})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// UnmarshalJSON reads either shape; an entry with "added" or "removed" is a list change.
func (c *Change) UnmarshalJSON(b []byte) error {
	var raw struct {
		Field   string    `json:"field"`
		Old     string    `json:"old"`
		New     string    `json:"new"`
		Added   *[]string `json:"added"`
		Removed *[]string `json:"removed"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c = Change{Field: raw.Field, Old: raw.Old, New: raw.New}
	if raw.Added != nil || raw.Removed != nil {
		c.IsList = true
		c.Old, c.New = "", ""
		if raw.Added != nil {
			c.Added = *raw.Added
		}
		if raw.Removed != nil {
			c.Removed = *raw.Removed
		}
	}
	return nil
}

// Detail is the `detail` of a peerbridge event (docs/contract.md). Optional keys are
// omitted from the JSON when empty; fields, changes and changedFields are always present
// (empty, never null). Fields is nil when a message has none; read one with
// d.Fields.Get(name).
type Detail struct {
	ID            string    `json:"id,omitempty"`
	Origin        string    `json:"origin,omitempty"` // OriginReconcile, or "" for a webhook
	ReceivedAt    time.Time `json:"receivedAt,omitzero"`
	Entity        Entity    `json:"entity,omitempty"`
	Action        Action    `json:"action,omitempty"`
	Name          string    `json:"name,omitempty"`
	URL           string    `json:"url,omitempty"`
	Organization  string    `json:"organization,omitempty"`
	EntityID      string    `json:"entityId,omitempty"`
	Author        *Author   `json:"author,omitempty"`
	Fields        Fields    `json:"fields"`
	Changes       []Change  `json:"changes"`
	ChangedFields []string  `json:"changedFields"`
	Text          string    `json:"text"`
}

// Recognized reports whether the header named an entity and an action.
func (d *Detail) Recognized() bool { return d.Entity != "" && d.Action != "" }

// DetailType is the EventBridge detail-type of this detail.
func (d *Detail) DetailType() string { return DetailType(d.Entity, d.Action) }

// MarshalJSON keeps the always-present keys non-null even for a zero Detail.
func (d Detail) MarshalJSON() ([]byte, error) {
	type detail Detail // the same fields without this method
	d.Changes, d.ChangedFields = nonNil(d.Changes), nonNil(d.ChangedFields)
	if d.Origin == OriginReconcile {
		// No text: the API does not say how a change was worded (docs/contract.md).
		return marshalText(struct {
			detail
			Text string `json:"text,omitempty"`
		}{detail: detail(d)})
	}
	return marshalText(detail(d))
}

// marshalText is json.Marshal without HTML escaping: a detail carries Markdown text
// (often with <, > and &) up to three times, and \u003c takes 6 bytes of the bus's
// 256 KB for the 1 byte of <. Nothing reads the events as HTML; JSON needs no such
// escape. Nested MarshalJSON methods (Fields, Change) use it too, as encoding/json
// keeps their escapes as they wrote them.
func marshalText(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Event is one peerbridge event as it goes on the bus: EventBridge's envelope fields
// and the detail. Its JSON is the shape `peerbridge parse` prints.
type Event struct {
	Source     string    `json:"source"`
	DetailType string    `json:"detailType"`
	Time       time.Time `json:"time,omitzero"`
	Detail     Detail    `json:"detail"`
}

// NewEvent builds the event for a delivery: it parses the text and stamps the delivery's
// id and receive time. An empty source means DefaultSource.
func NewEvent(source string, d Delivery) Event {
	if source == "" {
		source = DefaultSource
	}
	detail := Parse(d.Text)
	detail.ID = d.ID
	detail.ReceivedAt = d.ReceivedAt
	return Event{Source: source, DetailType: detail.DetailType(), Time: d.ReceivedAt, Detail: detail}
}

// DecodeDetail reads an event detail from its JSON, as an action receives it from the bus.
// It checks only what every consumer relies on: a JSON object with a string text.
func DecodeDetail(b []byte) (Detail, error) {
	var d Detail
	if err := json.Unmarshal(b, &d); err != nil {
		return Detail{}, fmt.Errorf("peerdom: event detail is not valid: %w", err)
	}
	if d.Entity != "" {
		if _, ok := entityTitles[d.Entity]; !ok {
			return Detail{}, fmt.Errorf("peerdom: event detail has unknown entity %q", d.Entity)
		}
	}
	if d.Action != "" {
		if _, ok := actionTitles[d.Action]; !ok {
			return Detail{}, fmt.Errorf("peerdom: event detail has unknown action %q", d.Action)
		}
	}
	return d, nil
}

// ErrNotRecognized is returned by consumers that need an entity and action.
var ErrNotRecognized = errors.New("peerdom: message not recognized")
