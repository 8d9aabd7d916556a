// Package membus is an in-memory event bus: the twin of EventBridge (internal/bus/eventbridgebus) for
// tests and for the local pipeline (`peerbridge serve`). It implements bus.Putter with
// EventBridge's rules for a PutEvents call, keeps every accepted entry, and hands each
// one to its subscribers (which route them, e.g. by event pattern, to local consumers).
//
// Faults can be injected per call (FailCall: the call fails as a whole, as when
// EventBridge throttles or is unreachable) and per entry (FailEntry: a failed entry in
// an otherwise successful answer, as EventBridge reports with FailedEntryCount).
//
// A Bus is safe for concurrent use. Set the Fail hooks before sharing the Bus.
package membus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Account and Region stamp the events CloudWatchEvent builds; they name no real account.
const (
	Account = "000000000000"
	Region  = "local"
)

// Event is an entry the bus accepted, with the id and time the bus gave it.
type Event struct {
	ID    string
	Time  time.Time // the entry's Time, or when the bus received it if that was zero
	Entry bus.Entry
}

// CloudWatchEvent is the event as EventBridge delivers it to a target such as a Lambda
// function (events.EventBridgeEvent is the same type).
func (e Event) CloudWatchEvent() events.CloudWatchEvent {
	resources := e.Entry.Resources
	if resources == nil {
		resources = []string{}
	}
	return events.CloudWatchEvent{
		Version:    "0",
		ID:         e.ID,
		DetailType: e.Entry.DetailType,
		Source:     e.Entry.Source,
		AccountID:  Account,
		Time:       e.Time,
		Region:     Region,
		Resources:  resources,
		Detail:     json.RawMessage(e.Entry.Detail),
	}
}

// Bus is the in-memory bus. The zero value is ready to use.
type Bus struct {
	// FailCall, when set, is asked before each call; a non-nil error fails the whole
	// call (nothing is accepted) and is returned from PutEvents.
	FailCall func(entries []bus.Entry) error
	// FailEntry, when set, is asked for each entry of a call that passed FailCall; a
	// non-empty code rejects that entry alone, with that code and message.
	FailEntry func(e bus.Entry) (code, message string)
	// Now gives the receive time of entries without one; nil means time.Now.
	Now func() time.Time
	// DropEvents, when set, keeps no accepted event: each is counted (Accepted) and
	// handed to the subscribers, and Events returns none, so a long-running bus (serve)
	// holds no memory per event.
	DropEvents bool

	mu          sync.Mutex
	events      []Event
	accepted    int
	calls       int
	subscribers []func(Event)
}

var _ bus.Putter = (*Bus)(nil)

// New returns an empty bus.
func New() *Bus { return &Bus{} }

// Subscribe adds fn, which is called with every entry accepted from then on, in order,
// after the call that put it has been answered internally. fn runs on the goroutine
// that called PutEvents, outside the bus's lock, so it may put events itself.
func (b *Bus) Subscribe(fn func(Event)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subscribers = append(b.subscribers, fn)
}

// Events returns a copy of every entry the bus has accepted, in order.
func (b *Bus) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.events...)
}

// Accepted is the number of entries the bus has accepted, kept or not (DropEvents).
func (b *Bus) Accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.accepted
}

// Calls is the number of PutEvents calls made, including failed ones.
func (b *Bus) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// ValidationError is the whole-call refusal of a request that breaks EventBridge's
// limits (more than bus.MaxEntriesPerPut entries, or more than bus.MaxPutBytes), as
// EventBridge answers it: nothing in the call is accepted.
type ValidationError struct{ Reason string }

func (e *ValidationError) Error() string { return "ValidationException: " + e.Reason }

// PutEvents accepts entries like EventBridge's PutEvents: whole-call validation of the
// limits, then one Result per entry. An entry without source, detail-type or a JSON
// object detail is rejected alone, with EventBridge's error codes.
func (b *Bus) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(entries) == 0 || len(entries) > bus.MaxEntriesPerPut {
		return nil, &ValidationError{Reason: fmt.Sprintf("a call takes 1 to %d entries, got %d", bus.MaxEntriesPerPut, len(entries))}
	}
	total := 0
	for _, e := range entries {
		total += e.Size()
	}
	if total > bus.MaxPutBytes {
		return nil, &ValidationError{Reason: fmt.Sprintf("total size of the entries in the request is over the limit (%d bytes > %d)", total, bus.MaxPutBytes)}
	}
	if b.FailCall != nil {
		if err := b.FailCall(entries); err != nil {
			return nil, err
		}
	}

	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	results := make([]bus.Result, len(entries))
	var accepted []Event
	for i, e := range entries {
		if code, msg := check(e); code != "" {
			results[i] = bus.Result{ErrorCode: code, ErrorMessage: msg}
			continue
		}
		if b.FailEntry != nil {
			if code, msg := b.FailEntry(e); code != "" {
				results[i] = bus.Result{ErrorCode: code, ErrorMessage: msg}
				continue
			}
		}
		ev := Event{ID: peerdom.NewDeliveryID(), Time: e.Time, Entry: e}
		if ev.Time.IsZero() {
			ev.Time = now()
		}
		ev.Time = ev.Time.UTC()
		results[i] = bus.Result{EventID: ev.ID}
		accepted = append(accepted, ev)
	}

	b.mu.Lock()
	b.accepted += len(accepted)
	if !b.DropEvents {
		b.events = append(b.events, accepted...)
	}
	subs := slices.Clone(b.subscribers)
	b.mu.Unlock()
	for _, ev := range accepted {
		for _, fn := range subs {
			fn(ev)
		}
	}
	return results, nil
}

// check applies EventBridge's per-entry validation.
func check(e bus.Entry) (code, message string) {
	switch {
	case e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	// A JSON object: valid JSON whose first non-space byte opens an object. Checked
	// without decoding, since every event on the local bus passes here.
	if d := strings.TrimLeft(e.Detail, " \t\r\n"); d == "" || d[0] != '{' || !json.Valid([]byte(d)) {
		return "MalformedDetail", "Detail is malformed."
	}
	return "", ""
}

// Publish puts one event (pkg/action's Publisher, as serve gives enrich this bus).
func (b *Bus) Publish(ctx context.Context, source, detailType string, detail json.RawMessage, at time.Time) (string, error) {
	return bus.Publisher{Putter: b}.Publish(ctx, source, detailType, detail, at)
}
