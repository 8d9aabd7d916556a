// Package queue is the port of peerbridge's message queue, declared once: the domain
// Message, the producer side (Sender, what ingest needs), the consumer side (Consumer:
// receive with a visibility timeout, delete, change visibility), and the batch-handler
// shape of Lambda's SQS event source mapping with ReportBatchItemFailures (BatchHandler,
// and Poll, which drives one over any Consumer).
//
// internal/queue/sqsqueue implements it with Amazon SQS, internal/queue/memqueue in
// memory; internal/queue/queuetest is the conformance suite both pass. Standard library
// only: the domain never sees AWS types.
package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Limits of SQS that the port keeps.
const (
	// MaxMessageBytes is the largest body a Sender must accept: SQS's long-standing
	// 256 KiB, which the template's queue sets as its MaximumMessageSize.
	MaxMessageBytes = 256 * 1024
	// MaxBatch is the most messages one Receive returns, and one batch a handler gets.
	MaxBatch = 10
)

// Message is one received message.
type Message struct {
	ID           string    // the queue's message id; the same on every receive
	Body         string    // as sent
	ReceiveCount int       // how many times it has been received, this time included
	SentAt       time.Time // when the queue accepted it
	// Receipt is the handle of this receive, for Delete and ChangeVisibility. SQS gives a
	// new one on each receive; a stale one may be refused.
	Receipt string
}

// ErrTooLarge is returned (wrapped) by Send for a body above the queue's size limit.
var ErrTooLarge = errors.New("message is larger than the queue's limit of 256 KiB")

// Sender is the producer side: ingest's port.
type Sender interface {
	// Send queues one message. A nil error means the queue has stored it.
	Send(ctx context.Context, body string) error
}

// Consumer is the consumer side, as SQS offers it.
type Consumer interface {
	// Receive takes up to max (at most MaxBatch) visible messages and hides them for
	// visibility (0 or less: the queue's default visibility timeout): a message neither
	// deleted nor made visible within that time is received again, with a higher
	// ReceiveCount. It returns no messages, not an error, when none is visible. A queue
	// with a dead-letter queue moves a message there once it has been received its
	// maximum number of times without being deleted.
	Receive(ctx context.Context, max int, visibility time.Duration) ([]Message, error)
	// Delete removes a received message for good: it was handled.
	Delete(ctx context.Context, receipt string) error
	// ChangeVisibility hides a received message for timeout from now; 0 makes it
	// visible at once (a release: the handler gave up on it).
	ChangeVisibility(ctx context.Context, receipt string, timeout time.Duration) error
}

// Queue is both sides.
type Queue interface {
	Sender
	Consumer
}

// BatchHandler handles one batch as a Lambda function behind an SQS event source mapping
// with ReportBatchItemFailures does: it returns the ids (Message.ID) of the messages that
// failed, and the others count as handled. An error fails the whole batch.
type BatchHandler func(ctx context.Context, batch []Message) (failed []string, err error)

// Poll receives up to max messages (at most MaxBatch) with the given visibility timeout,
// hands them to handle as one batch, and settles them as the event source mapping does:
// the messages handle did not name are deleted, the failed ones made visible again, so
// they are received again until the queue's redrive policy dead-letters them. The
// mapping leaves a failed message hidden until its visibility timeout ends; Poll releases
// it at once, so a retry need not wait. When handle returns an error, or names an id
// that is empty or not in the batch (Lambda then fails the whole batch), every message
// is released and the error returned. Poll returns how many messages it handed over; 0
// means none was visible and handle was not called.
func Poll(ctx context.Context, c Consumer, max int, visibility time.Duration, handle BatchHandler) (int, error) {
	batch, err := c.Receive(ctx, min(max, MaxBatch), visibility)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	failed, err := handle(ctx, batch)
	if err == nil {
		err = checkFailed(failed, batch)
	}
	// Settle with a context of its own: a handler that ran out its invocation's time
	// must still get its successes deleted.
	settleCtx := context.WithoutCancel(ctx)
	var settleErrs []error
	for _, m := range batch {
		if err != nil || slices.Contains(failed, m.ID) {
			settleErrs = append(settleErrs, c.ChangeVisibility(settleCtx, m.Receipt, 0))
		} else {
			settleErrs = append(settleErrs, c.Delete(settleCtx, m.Receipt))
		}
	}
	if err == nil {
		err = errors.Join(settleErrs...)
	}
	return len(batch), err
}

// checkFailed applies Lambda's rule: an empty or unknown id fails the whole batch.
func checkFailed(failed []string, batch []Message) error {
	for _, id := range failed {
		if !slices.ContainsFunc(batch, func(m Message) bool { return m.ID == id }) {
			return fmt.Errorf("handler reported a failure for message %q, which is not in the batch; the whole batch fails", id)
		}
	}
	return nil
}

// SQSAttributes reads the receive count and the sent time from SQS's message system
// attributes (ApproximateReceiveCount; SentTimestamp, in Unix milliseconds), as both
// ReceiveMessage and Lambda's SQS events carry them, so the SQS adapter and the worker's
// Lambda adapter read them alike without linking each other. A missing or malformed one
// reads as zero.
func SQSAttributes(attrs map[string]string) (receiveCount int, sentAt time.Time) {
	receiveCount, _ = strconv.Atoi(attrs["ApproximateReceiveCount"])
	if ms, err := strconv.ParseInt(attrs["SentTimestamp"], 10, 64); err == nil {
		sentAt = time.UnixMilli(ms).UTC()
	}
	return receiveCount, sentAt
}
