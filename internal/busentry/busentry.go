// Package busentry builds the bus entry an event becomes: the one definition that
// reconciliation uses for the events it finds, and that ingest (to refuse, before
// answering 200, a webhook whose event would not fit the bus) and the worker (to publish
// it) share, so both measure the same bytes.
package busentry

import (
	"fmt"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// FromDelivery parses the delivery's text into the contract's event (peerdom.NewEvent;
// an empty source means peerdom.DefaultSource) and returns it as a bus entry. Its Detail
// is the detail's JSON as json.Marshal writes it, so Entry.Size is what EventBridge will
// count.
func FromDelivery(source string, d peerdom.Delivery) (bus.Entry, error) {
	return FromEvent(peerdom.NewEvent(source, d))
}

// FromEvent is the event as a bus entry, for the webhook path and reconciliation alike:
// its Detail is the detail's JSON as Detail.MarshalJSON writes it (no HTML escaping: a
// '<' takes one byte of the bus's 256 KB, not six).
func FromEvent(event peerdom.Event) (bus.Entry, error) {
	detail, err := event.Detail.MarshalJSON()
	if err != nil {
		return bus.Entry{}, fmt.Errorf("encode event detail: %w", err)
	}
	return bus.Entry{Source: event.Source, DetailType: event.DetailType, Detail: string(detail), Time: event.Time}, nil
}
