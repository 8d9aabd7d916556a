package stackview

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Event is one event of the deployed bus, as the tail received it: EventBridge's
// envelope, the detail decoded to peerbridge's event contract (docs/contract.md), and
// the JSON the bus delivered.
type Event struct {
	// Seq numbers the events the tail received, from 1; the ring and Wait go by it.
	Seq uint64 `json:"seq"`
	// TailedAt is when the tail received the event.
	TailedAt time.Time `json:"tailedAt"`
	// ID is EventBridge's event id (a replay gives an event a new one; the detail's id,
	// the delivery id, stays).
	ID string `json:"id"`
	// Event is the contract's event: source, detail-type, time and the decoded detail.
	// Its Detail is the zero Detail when the event is not a webhook's or reconcile's
	// (a snapshot, or DecodeError is set).
	peerdom.Event
	// Snapshot is the detail of enrich's "<Entity> Snapshot" events.
	Snapshot *action.Snapshot `json:"snapshot,omitempty"`
	// ReplayName is set on an event a replay of the archive sent again.
	ReplayName string `json:"replayName,omitempty"`
	// Rules are the bus's rules whose pattern matches the event, as the bus routes it
	// (peerbridge's own matcher, on the rules listed at most a minute before; the tail's
	// and the archive's left out): where it went. What each target then did is in its
	// function's log.
	Rules []string `json:"rules,omitempty"`
	// DecodeError says why the body or its detail is not the contract's (another source's
	// event on the bus, a hand-written one); the event is still shown, by its raw JSON.
	DecodeError string `json:"decodeError,omitempty"`
	// Raw is the event's JSON as the bus delivered it.
	Raw json.RawMessage `json:"raw"`
}

const errNotJSON = "the message is not JSON"

// eventOverhead is what an Event costs besides its bytes of text, roughly (the struct,
// slice and map headers of the decoded detail).
const eventOverhead = 512

// size is what the ring counts for the event: its JSON and the decoded detail, which
// holds the same strings again.
func (e Event) size() int { return 2*len(e.Raw) + eventOverhead }

// decodeEvent reads one message of the tail's queue: an EventBridge event as a rule
// delivers it to an SQS target.
func decodeEvent(body string, tailedAt time.Time) Event {
	e := Event{TailedAt: tailedAt, Raw: json.RawMessage(body)}
	if !json.Valid([]byte(body)) {
		e.Raw, _ = json.Marshal(body) // kept as a JSON string, so Raw stays JSON
		e.DecodeError = errNotJSON
		return e
	}
	var env struct {
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Time       time.Time       `json:"time"`
		ReplayName string          `json:"replay-name"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		e.DecodeError = fmt.Sprintf("not an EventBridge event: %v", err)
		return e
	}
	e.ID, e.ReplayName = env.ID, env.ReplayName
	e.Source, e.DetailType, e.Time = env.Source, env.DetailType, env.Time
	if len(env.Detail) == 0 {
		e.DecodeError = "the event has no detail"
		return e
	}
	switch {
	case contractTypes[e.DetailType]:
		d, err := peerdom.DecodeDetail(env.Detail)
		if err != nil {
			e.DecodeError = err.Error()
			return e
		}
		e.Detail = d
	case snapshotTypes[e.DetailType]:
		var snap action.Snapshot
		if err := json.Unmarshal(env.Detail, &snap); err != nil {
			e.DecodeError = fmt.Sprintf("snapshot detail is not valid: %v", err)
			return e
		}
		e.Snapshot = &snap
	default:
		e.DecodeError = fmt.Sprintf("detail-type %q is not one of peerbridge's events", e.DetailType)
	}
	return e
}

// contractTypes and snapshotTypes are the detail-types peerbridge publishes.
var contractTypes, snapshotTypes = func() (map[string]bool, map[string]bool) {
	c, s := map[string]bool{}, map[string]bool{}
	for _, t := range peerdom.DetailTypes() {
		c[t] = true
	}
	for _, e := range []peerdom.Entity{peerdom.EntityRole, peerdom.EntityGroup, peerdom.EntityPeer} {
		s[action.SnapshotDetailType(e)] = true
	}
	return c, s
}()

// Heading is the event's line as the terminal shows it (serve, tail), without the time:
// `● Role Created         "Scribe" changed purpose by Jane Doe  [delivery 01234567]`.
func (e Event) Heading() string {
	var b strings.Builder
	fmt.Fprintf(&b, "● %-20s", cmp.Or(e.DetailType, "(no detail-type)"))
	d := e.Detail
	if d.Name != "" {
		fmt.Fprintf(&b, " %q", d.Name)
	}
	if len(d.ChangedFields) > 0 {
		fmt.Fprintf(&b, " changed %s", strings.Join(d.ChangedFields, ", "))
	}
	if d.Author != nil {
		if who := cmp.Or(d.Author.Name, d.Author.Email); who != "" {
			fmt.Fprintf(&b, " by %s", who)
		}
	}
	id := d.ID
	if e.Snapshot != nil {
		id = e.Snapshot.ID
	}
	if id != "" {
		fmt.Fprintf(&b, "  [delivery %s]", id[:min(8, len(id))])
	}
	return b.String()
}
