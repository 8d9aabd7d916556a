package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Event is what an action receives: the bus envelope and the typed detail.
type Event struct {
	ID         string // the bus's event id (differs between redeliveries of a webhook; Detail.ID does not)
	Source     string
	DetailType string
	Time       time.Time
	Detail     peerdom.Detail
}

// ErrBadEvent marks an event whose detail cannot be read; retrying cannot help, so after
// EventBridge's retries it lands in the dead-letter queue for a person to look at.
var ErrBadEvent = errors.New("action: event cannot be read")

// FromEventBridge decodes an event as EventBridge delivers it to a Lambda target.
func FromEventBridge(e events.EventBridgeEvent) (Event, error) {
	if len(e.Detail) == 0 || string(e.Detail) == "null" {
		return Event{}, fmt.Errorf("%w: event %s (%s) has no detail", ErrBadEvent, e.ID, e.DetailType)
	}
	d, err := peerdom.DecodeDetail(e.Detail)
	if err != nil {
		return Event{}, fmt.Errorf("%w: event %s (%s): %v", ErrBadEvent, e.ID, e.DetailType, err)
	}
	return Event{ID: e.ID, Source: e.Source, DetailType: e.DetailType, Time: e.Time, Detail: d}, nil
}

// EventBridge is the event as EventBridge would deliver it to a Lambda target: for tests
// and for running actions locally on parsed webhooks.
func (ev Event) EventBridge() (events.EventBridgeEvent, error) {
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return events.EventBridgeEvent{}, err
	}
	return events.EventBridgeEvent{Version: "0", ID: ev.ID, Source: ev.Source, DetailType: ev.DetailType,
		Time: ev.Time, Resources: []string{}, Detail: detail}, nil
}

// FromPeerdom wraps a parsed peerbridge event (peerdom.NewEvent) as an action Event.
func FromPeerdom(id string, e peerdom.Event) Event {
	return Event{ID: id, Source: e.Source, DetailType: e.DetailType, Time: e.Time, Detail: e.Detail}
}
