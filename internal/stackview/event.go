package stackview

import (
	"cmp"
	"encoding/json"
	"fmt"
	"time"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// busEvent is one message of the tail's queue, decoded: EventBridge's envelope, and the
// detail as peerbridge's event contract (docs/contract.md) or enrich's snapshot.
type busEvent struct {
	id         string // EventBridge's event id
	source     string
	detailType string
	time       time.Time
	detail     *peerdom.Detail  // a webhook's or reconcile's event
	snapshot   *action.Snapshot // enrich's "<Entity> Snapshot"
	// decodeError says why the body or its detail is not one of peerbridge's events
	// (another source's event on the bus, a hand-written one); it is still shown, raw.
	decodeError string
	raw         json.RawMessage // the event's JSON as the bus delivered it
}

const errNotJSON = "the message is not JSON"

// decodeEvent reads one message of the tail's queue: an EventBridge event as a rule
// delivers it to an SQS target.
func decodeEvent(body string) busEvent {
	e := busEvent{raw: json.RawMessage(body)}
	if !json.Valid([]byte(body)) {
		e.raw, _ = json.Marshal(body) // kept as a JSON string, so raw stays JSON
		e.decodeError = errNotJSON
		return e
	}
	var env struct {
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Time       time.Time       `json:"time"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		e.decodeError = fmt.Sprintf("not an EventBridge event: %v", err)
		return e
	}
	e.id, e.source, e.detailType, e.time = env.ID, env.Source, env.DetailType, env.Time
	if len(env.Detail) == 0 {
		e.decodeError = "the event has no detail"
		return e
	}
	switch {
	case contractTypes[e.detailType]:
		d, err := peerdom.DecodeDetail(env.Detail)
		if err != nil {
			e.decodeError = err.Error()
			return e
		}
		e.detail = &d
	case snapshotTypes[e.detailType]:
		var snap action.Snapshot
		if err := json.Unmarshal(env.Detail, &snap); err != nil {
			e.decodeError = fmt.Sprintf("snapshot detail is not valid: %v", err)
			return e
		}
		e.snapshot = &snap
	default:
		e.decodeError = fmt.Sprintf("detail-type %q is not one of peerbridge's events", e.detailType)
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

// records are what the console reads of the event, as serve's pipeline records a local
// one: the event published (observe.KindPublished: its detail-type, source, entity,
// author, the whole event and the Peerdom text) and each rule that matched it with each
// of the rule's targets (observe.KindRouted). DeliveryID links them as it links a local
// webhook's records (it is the detail's id; a snapshot names its cause in its detail's
// causedBy); EventID is the bus event's id.
func (e busEvent) records(routes []route) []observe.Record {
	p := &observe.Published{DetailType: e.detailType, Source: e.source, Event: e.raw,
		Unrecognized: e.detailType == peerdom.DetailTypeUnrecognized}
	var deliveryID string
	switch {
	case e.detail != nil:
		d := e.detail
		deliveryID, p.EntityID, p.Text = d.ID, d.EntityID, observe.Clip(d.Text)
		if d.Author != nil {
			p.Author = cmp.Or(d.Author.Name, d.Author.Email)
		}
	case e.snapshot != nil:
		deliveryID, p.EntityID = e.snapshot.ID, e.snapshot.EntityID
	}
	for _, r := range routes {
		p.RoutedTo = append(p.RoutedTo, r.targets...)
	}
	out := []observe.Record{{Kind: observe.KindPublished, DeliveryID: deliveryID, EventID: e.id, Published: p}}
	for _, r := range routes {
		targets := r.targets
		if len(targets) == 0 {
			targets = []string{""} // a rule without targets: matched, sent nowhere
		}
		for _, t := range targets {
			out = append(out, observe.Record{Kind: observe.KindRouted, DeliveryID: deliveryID, EventID: e.id,
				Routed: &observe.Routed{Rule: r.name, Function: t, Pattern: r.pattern, Delivered: t != ""}})
		}
	}
	return out
}
