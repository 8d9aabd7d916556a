// Package worker turns queued deliveries into events on the bus: each SQS message is a
// delivery envelope (peerdom.Delivery); its text is parsed into the event of the contract
// (peerdom.NewEvent) and put on the bus with as few PutEvents calls as the limits allow
// (bus.Publish). It answers with a partial batch response naming only the messages that
// did not make it, so only those are retried, each with the delivery id it had.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Handler handles batches of queued deliveries. Bus is where events go (internal/bus/eventbridgebus in
// AWS, internal/bus/membus locally); Source is their EventBridge source (empty:
// peerdom.DefaultSource); Logger may be nil (no logs).
type Handler struct {
	Bus    bus.Putter
	Source string
	Logger *slog.Logger
}

// Outcomes, as logged in the "outcome" attribute of each message's line.
const (
	OutcomePublished = "published"
	OutcomeFailed    = "failed"
)

// answerMargin is kept free of an invocation's deadline for the answer.
const answerMargin = 500 * time.Millisecond

// message is one record's progress through the batch.
type message struct {
	record   *events.SQSMessage
	delivery peerdom.Delivery
	entry    int // index in the batch's entries; -1 when it never got that far
	eventID  string
	err      error
}

// Handle publishes one batch. It returns an error never: every failure is a per-message
// one, reported in BatchItemFailures (the event source mapping must enable
// ReportBatchItemFailures). A message that is not a valid envelope is reported too, so
// after its retries it lands in the dead-letter queue instead of vanishing; an
// unrecognized Peerdom message is not a failure, it is published as such.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	msgs := make([]message, len(ev.Records))
	entries := make([]bus.Entry, 0, len(ev.Records))
	for i := range ev.Records {
		m := &msgs[i]
		m.record, m.entry = &ev.Records[i], -1
		entry, err := h.entry(m)
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

	var resp events.SQSEventResponse
	for i := range msgs {
		m := &msgs[i]
		if m.entry >= 0 {
			m.eventID, m.err = published[m.entry].EventID, published[m.entry].Err
		}
		if m.err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.record.MessageId})
		}
		h.log(ctx, m, entries)
	}
	return resp, nil
}

// entry decodes the message's envelope and builds its bus entry.
func (h *Handler) entry(m *message) (bus.Entry, error) {
	d, err := peerdom.DecodeDeliveryString(m.record.Body)
	if err != nil {
		return bus.Entry{}, err
	}
	m.delivery = d
	event := peerdom.NewEvent(h.Source, d)
	detail, err := event.Detail.MarshalJSON() // what json.Marshal gives, without compacting it again
	if err != nil {
		return bus.Entry{}, fmt.Errorf("encode event detail: %w", err)
	}
	return bus.Entry{Source: event.Source, DetailType: event.DetailType, Detail: string(detail), Time: event.Time}, nil
}

// log writes the message's one line; the text, which names people, only at debug level.
func (h *Handler) log(ctx context.Context, m *message, entries []bus.Entry) {
	if h.Logger == nil {
		return
	}
	level, outcome := slog.LevelInfo, OutcomePublished
	if m.err != nil {
		level, outcome = slog.LevelError, OutcomeFailed
	}
	if !h.Logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	if m.delivery.ID != "" { // empty for a message that is not an envelope
		attrs = append(attrs, slog.String("id", m.delivery.ID))
	}
	attrs = append(attrs, slog.String("messageId", m.record.MessageId), slog.String("outcome", outcome))
	if m.entry >= 0 {
		attrs = append(attrs, slog.String("detailType", entries[m.entry].DetailType))
	}
	if m.eventID != "" {
		attrs = append(attrs, slog.String("eventId", m.eventID))
	}
	if n := m.record.Attributes["ApproximateReceiveCount"]; n != "" && n != "1" {
		attrs = append(attrs, slog.String("receiveCount", n)) // a retry
	}
	if m.err != nil {
		attrs = append(attrs, slog.String("error", m.err.Error()))
	}
	if m.delivery.Text != "" && h.Logger.Enabled(ctx, slog.LevelDebug) {
		attrs = append(attrs, slog.String("text", m.delivery.Text))
	}
	h.Logger.LogAttrs(ctx, level, "delivery", attrs...)
}
