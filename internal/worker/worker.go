// Package worker turns queued deliveries into events on the bus. Each queued message
// (queue.Message) is a delivery envelope (peerdom.Delivery); its text is parsed into the
// event of the contract (peerdom.NewEvent) and put on the bus with as few PutEvents calls
// as the limits allow (bus.Publish). Handle answers with the ids of the messages that did
// not make it, so only those are retried, each with the delivery id it had: the shape of
// queue.BatchHandler, which memqueue.Poll drives locally. In Lambda, lambda.go's
// HandleSQS adapts it to the SQS event source mapping's events and partial batch
// response; no other file here knows aws-lambda-go.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Handler handles batches of queued deliveries. Bus is where events go
// (internal/bus/eventbridgebus in AWS, internal/bus/membus locally); Source is their
// EventBridge source (empty: peerdom.DefaultSource); Logger may be nil (no logs).
type Handler struct {
	Bus    bus.Putter
	Source string
	Logger *slog.Logger

	// buildEntry replaces fromDelivery in tests (a slow parse); nil: fromDelivery.
	buildEntry func(source string, d peerdom.Delivery) (bus.Entry, error)
}

var _ queue.BatchHandler = (*Handler)(nil).Handle

// Outcomes, as logged in the "outcome" attribute of each message's line.
const (
	OutcomePublished = "published"
	OutcomeFailed    = "failed" // reported for retry
	// OutcomeTooLarge: the event is larger than EventBridge takes (bus.ErrEntryTooLarge).
	// Retrying cannot help, so the message is not reported: it is deleted, and this line
	// (at error level, with the delivery id and the entry's size) is its only record.
	OutcomeTooLarge = "too_large"
)

// answerMargin is kept free of an invocation's deadline for the answer.
const answerMargin = 500 * time.Millisecond

// ErrParseTimeout fails a message whose entry was not built within its share of the
// invocation's time; the others of the batch go on.
var ErrParseTimeout = errors.New("building the event took longer than this message's share of the invocation's time")

// message is one queued message's progress through the batch.
type message struct {
	msg      *queue.Message
	delivery peerdom.Delivery
	entry    int // index in the batch's entries; -1 when it never got that far
	eventID  string
	err      error
}

// Handle publishes one batch and returns the ids of the messages to retry. Its error is
// always nil: every failure is a per-message one. A message that is not a valid
// envelope is reported too, so after its retries it lands in the dead-letter queue
// instead of vanishing; an unrecognized Peerdom message is not a failure, it is
// published as such; an event too large for the bus is not reported (OutcomeTooLarge).
//
// When ctx has a deadline (a Lambda invocation's), the events are built within half of
// the time left, each message getting an equal share of what remains when its turn
// comes: a message whose parse outlasts its share fails alone (ErrParseTimeout), and
// the batch is still published and answered in time.
func (h *Handler) Handle(ctx context.Context, batch []queue.Message) ([]string, error) {
	msgs := make([]message, len(batch))
	entries := make([]bus.Entry, 0, len(batch))
	buildBy, hasDeadline := time.Time{}, false
	if deadline, ok := ctx.Deadline(); ok {
		hasDeadline = true
		buildBy = time.Now().Add(time.Until(deadline.Add(-answerMargin)) / 2)
	}
	for i := range batch {
		m := &msgs[i]
		m.msg, m.entry = &batch[i], -1
		d, err := peerdom.DecodeDeliveryString(m.msg.Body)
		if err != nil {
			m.err = err
			continue
		}
		m.delivery = d
		var entry bus.Entry
		if hasDeadline {
			entry, err = h.entryWithin(ctx, d, time.Until(buildBy)/time.Duration(len(batch)-i))
		} else {
			entry, err = h.entry(d)
		}
		if err != nil {
			m.err = err
			continue
		}
		m.entry = len(entries)
		entries = append(entries, entry)
	}

	publishCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		// Stop publishing before the invocation times out, so what was published is
		// answered as such rather than the whole batch being retried.
		var cancel context.CancelFunc
		publishCtx, cancel = context.WithDeadline(ctx, deadline.Add(-answerMargin))
		defer cancel()
	}
	published := bus.Publish(publishCtx, h.Bus, entries)

	var failed []string
	for i := range msgs {
		m := &msgs[i]
		if m.entry >= 0 {
			m.eventID, m.err = published[m.entry].EventID, published[m.entry].Err
		}
		if m.err != nil && !errors.Is(m.err, bus.ErrEntryTooLarge) {
			failed = append(failed, m.msg.ID)
		}
		h.log(ctx, m, entries)
	}
	return failed, nil
}

// entry builds a delivery's bus entry; a panic in the parser fails that message alone.
func (h *Handler) entry(d peerdom.Delivery) (e bus.Entry, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the event panicked: %v", r)
		}
	}()
	build := h.buildEntry
	if build == nil {
		build = fromDelivery
	}
	return build(h.Source, d)
}

// entryWithin builds the entry on another goroutine and gives up after share. A parse
// cannot be interrupted: a given-up one runs to its end and its result is dropped.
func (h *Handler) entryWithin(ctx context.Context, d peerdom.Delivery, share time.Duration) (bus.Entry, error) {
	type built struct {
		entry bus.Entry
		err   error
	}
	done := make(chan built, 1) // buffered: a given-up goroutine does not block
	go func() {
		e, err := h.entry(d)
		done <- built{e, err}
	}()
	timer := time.NewTimer(max(share, 0))
	defer timer.Stop()
	select {
	case b := <-done:
		return b.entry, b.err
	case <-timer.C:
		return bus.Entry{}, fmt.Errorf("%w (%v)", ErrParseTimeout, share.Round(time.Millisecond))
	case <-ctx.Done():
		return bus.Entry{}, ctx.Err()
	}
}

// fromDelivery builds a delivery's bus entry: the one place the worker decides it.
// ingest builds the same entry to measure it; once internal/busentry.FromDelivery is
// merged, this variable becomes that function.
var fromDelivery = entryFromDelivery

// detailBuffers holds the buffers details are encoded in, each *[]byte. One that grew
// for a very large detail is left to the garbage collector.
var detailBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuffer = 64 << 10

// entryFromDelivery parses the delivery into its event and builds the bus entry. The
// detail's JSON is built in a pooled buffer, so the entry's Detail string is its one
// allocation.
func entryFromDelivery(source string, d peerdom.Delivery) (bus.Entry, error) {
	event := peerdom.NewEvent(source, d)
	scratch := detailBuffers.Get().(*[]byte)
	detail, err := event.Detail.AppendJSON((*scratch)[:0])
	if err != nil {
		detailBuffers.Put(scratch)
		return bus.Entry{}, fmt.Errorf("encode event detail: %w", err)
	}
	entry := bus.Entry{Source: event.Source, DetailType: event.DetailType, Detail: string(detail), Time: event.Time}
	if cap(detail) <= maxPooledBuffer {
		*scratch = detail
		detailBuffers.Put(scratch)
	}
	return entry, nil
}

// log writes the message's one line; the text, which names people, only at debug level.
func (h *Handler) log(ctx context.Context, m *message, entries []bus.Entry) {
	if h.Logger == nil {
		return
	}
	level, outcome := slog.LevelInfo, OutcomePublished
	switch {
	case errors.Is(m.err, bus.ErrEntryTooLarge):
		level, outcome = slog.LevelError, OutcomeTooLarge
	case m.err != nil:
		level, outcome = slog.LevelError, OutcomeFailed
	}
	if !h.Logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	if m.delivery.ID != "" { // empty for a message that is not an envelope
		attrs = append(attrs, slog.String("id", m.delivery.ID))
	}
	attrs = append(attrs, slog.String("messageId", m.msg.ID), slog.String("outcome", outcome))
	if m.entry >= 0 {
		attrs = append(attrs, slog.String("detailType", entries[m.entry].DetailType))
		if outcome == OutcomeTooLarge {
			attrs = append(attrs, slog.Int("size", entries[m.entry].Size()))
		}
	}
	if m.eventID != "" {
		attrs = append(attrs, slog.String("eventId", m.eventID))
	}
	if m.msg.ReceiveCount > 1 {
		attrs = append(attrs, slog.Int("receiveCount", m.msg.ReceiveCount)) // a retry
	}
	if m.err != nil {
		attrs = append(attrs, slog.String("error", m.err.Error()))
	}
	if m.delivery.Text != "" && h.Logger.Enabled(ctx, slog.LevelDebug) {
		attrs = append(attrs, slog.String("text", m.delivery.Text))
	}
	h.Logger.LogAttrs(ctx, level, "delivery", attrs...)
}
