package action

import (
	"errors"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Event is what an action receives: the bus envelope's fields and the typed detail.
type Event struct {
	ID         string // the bus's event id (differs between redeliveries of a webhook; Detail.ID does not)
	Source     string
	DetailType string
	Time       time.Time
	Detail     peerdom.Detail
}

// ErrBadEvent marks an event whose detail cannot be read (the adapter that decodes it
// wraps it); retrying cannot help, so after EventBridge's retries it lands in the
// dead-letter queue for a person to look at.
var ErrBadEvent = errors.New("action: event cannot be read")

// FromPeerdom wraps a parsed peerbridge event (peerdom.NewEvent) as an action Event.
func FromPeerdom(id string, e peerdom.Event) Event {
	return Event{ID: id, Source: e.Source, DetailType: e.DetailType, Time: e.Time, Detail: e.Detail}
}
