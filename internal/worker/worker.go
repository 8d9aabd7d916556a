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
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/internal/metrics"
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
	// Metrics counts the events published by detail-type, the unrecognized messages,
	// the oversized and the failed; nil counts nothing.
	Metrics *metrics.Writer
	// Failed, when set, is told of each message that failed and is reported for retry
	// (its queue message id, its delivery id when it is an envelope, the error): serve's
	// record of the worker's errors, which its dead letters are listed with.
	Failed func(messageID, deliveryID string, err error)

	// buildEntry replaces busentry.FromDelivery in tests (a slow parse); nil:
	// busentry.FromDelivery, the function ingest measures entries with, so what ingest
	// accepted fits the bus.
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
// the time left (buildWithin), each message getting an equal share of what remains when
// its turn comes: a message whose parse outlasts its share fails alone
// (ErrParseTimeout), and the batch is still published and answered in time.
func (h *Handler) Handle(ctx context.Context, batch []queue.Message) ([]string, error) {
	msgs := make([]message, len(batch))
	decoded := make([]*message, 0, len(batch)) // the envelopes that decode, to build entries for
	for i := range batch {
		m := &msgs[i]
		m.msg, m.entry = &batch[i], -1
		if m.delivery, m.err = peerdom.DecodeDeliveryString(m.msg.Body); m.err == nil {
			decoded = append(decoded, m)
		}
	}
	built := make([]bus.Entry, len(decoded))
	if deadline, ok := ctx.Deadline(); ok {
		buildBy := time.Now().Add(time.Until(deadline.Add(-answerMargin)) / 2)
		h.buildWithin(ctx, decoded, built, buildBy)
	} else {
		for i, m := range decoded {
			built[i], m.err = h.entry(m.delivery)
		}
	}
	entries := built[:0] // the entries that were built, in order, in place
	for i, m := range decoded {
		if m.err == nil {
			m.entry = len(entries)
			entries = append(entries, built[i])
		}
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
	byType := map[string]int{} // events published, by detail-type
	var tooLarge int
	for i := range msgs {
		m := &msgs[i]
		if m.entry >= 0 {
			m.eventID, m.err = published[m.entry].EventID, published[m.entry].Err
		}
		switch {
		case m.err == nil:
			byType[entries[m.entry].DetailType]++
		case errors.Is(m.err, bus.ErrEntryTooLarge):
			tooLarge++
		default:
			failed = append(failed, m.msg.ID)
		}
		h.log(ctx, m, entries)
	}
	h.count(byType, tooLarge, len(failed))
	return failed, nil
}

// count writes the batch's metrics: at the basic level one line of totals; detailed,
// one line per detail-type published, and one for the rest. A metric lost is not worth
// failing the batch: errors are dropped.
func (h *Handler) count(byType map[string]int, tooLarge, failed int) {
	if h.Metrics == nil {
		return
	}
	if !h.Metrics.IsDetailed() {
		published := 0
		for _, n := range byType {
			published += n
		}
		h.Metrics.Count(map[string]int{metrics.EventsPublished: published, metrics.Unrecognized: byType[peerdom.DetailTypeUnrecognized],
			metrics.Oversized: tooLarge, metrics.DeliveriesFailed: failed}, "", "")
		return
	}
	for _, detailType := range slices.Sorted(maps.Keys(byType)) {
		counts := map[string]int{metrics.EventsPublished: byType[detailType]}
		if detailType == peerdom.DetailTypeUnrecognized {
			counts[metrics.Unrecognized] = byType[detailType]
		}
		h.Metrics.Count(counts, "DetailType", detailType)
	}
	h.Metrics.Count(map[string]int{metrics.Oversized: tooLarge, metrics.DeliveriesFailed: failed}, "", "")
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
		build = busentry.FromDelivery
	}
	return build(h.Source, d)
}

// buildWithin builds the entries of msgs into built (same index) on another goroutine,
// waiting for each no longer than its share of the time left until buildBy: an equal
// part for each message still to build, so time a fast one leaves goes to the next. A
// parse cannot be interrupted: on a timeout the goroutine is told to stop after the
// current message (its result is dropped) and a new one takes the rest.
func (h *Handler) buildWithin(ctx context.Context, msgs []*message, built []bus.Entry, buildBy time.Time) {
	type result struct {
		entry bus.Entry
		err   error
	}
	var results chan result
	var stop *atomic.Bool
	from := func(first int) {
		// Buffered for every message left, so an abandoned goroutine never blocks.
		results, stop = make(chan result, len(msgs)-first), new(atomic.Bool)
		go func(results chan<- result, stop *atomic.Bool) {
			for _, m := range msgs[first:] {
				if stop.Load() {
					return
				}
				e, err := h.entry(m.delivery)
				results <- result{e, err}
			}
		}(results, stop)
	}
	from(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i, m := range msgs {
		share := max(time.Until(buildBy)/time.Duration(len(msgs)-i), 0)
		timer.Reset(share)
		select {
		case r := <-results:
			built[i], m.err = r.entry, r.err
		case <-timer.C:
			m.err = fmt.Errorf("%w (%v)", ErrParseTimeout, share.Round(time.Millisecond))
			stop.Store(true)
			from(i + 1)
		case <-ctx.Done():
			stop.Store(true)
			for _, m := range msgs[i:] {
				m.err = ctx.Err()
			}
			return
		}
	}
	stop.Store(true)
}

// log writes the message's one line; the text, which names people, only at debug level.
func (h *Handler) log(ctx context.Context, m *message, entries []bus.Entry) {
	if h.Failed != nil && m.err != nil && !errors.Is(m.err, bus.ErrEntryTooLarge) {
		h.Failed(m.msg.ID, m.delivery.ID, m.err)
	}
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
	if outcome != OutcomePublished || m.msg.ReceiveCount > 1 {
		// What `peerbridge dlq list` looks a dead letter's error up by; a delivery
		// published at its first receive leaves it out (50 bytes a webhook, issue 22).
		attrs = append(attrs, slog.String("messageId", m.msg.ID))
	}
	attrs = append(attrs, slog.String("outcome", outcome))
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
