// Package memqueue is an in-memory message queue: the twin of SQS (internal/queue/sqsqueue) for tests
// and for the local pipeline (`peerbridge serve`).
//
// Producers call Send (it has the signature of ingest's Queue). Consumers either drive
// the queue by hand — Receive, then Delete or Release each message — or call Poll, which
// does what Lambda's SQS event source mapping does with ReportBatchItemFailures: it hands
// up to ten messages to a handler as an events.SQSEvent, deletes the ones the handler did
// not report as failures, and makes the failed ones visible again. A message released
// MaxReceives times goes to the dead-letter list instead, like an SQS redrive policy.
//
// Differences from SQS, on purpose: order is first-in first-out; a released message is
// visible again at once (no visibility timeout); received messages stay in flight until
// deleted or released, however long that takes.
//
// A Queue is safe for concurrent use; the zero value is ready to use. Set FailSend and
// MaxReceives before sharing the Queue.
package memqueue

import (
	"context"
	"errors"
	"fmt"
	"github.com/peerbridge/peerbridge/internal/uuid"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Limits mirroring SQS.
const (
	DefaultMaxReceives = 5          // the template's redrive policy: 5 receives, then the DLQ
	MaxMessageBytes    = 256 * 1024 // SQS's message size limit
	MaxBatch           = 10         // the most messages Poll hands to a handler at once
)

// Message is one queued message.
type Message struct {
	ID           string
	Body         string
	SentAt       time.Time
	ReceiveCount int // how many times it has been received, this time included
}

// Queue is the in-memory queue.
type Queue struct {
	// Name appears in the event source ARN of the SQS events Poll builds; empty: "queue".
	Name string
	// MaxReceives is how many receives a message gets before a Release sends it to the
	// dead-letter list; 0 means DefaultMaxReceives.
	MaxReceives int
	// FailSend, when set, is asked before each Send; a non-nil error is returned and
	// nothing is queued (an unreachable queue, for fault tests).
	FailSend func(body string) error
	// MaxBacklog, when above 0, bounds the messages held (visible and in flight): a Send
	// beyond it returns ErrFull and queues nothing, as an unreachable queue would. The
	// dead-letter list is not counted.
	MaxBacklog int

	mu       sync.Mutex
	visible  []*Message
	inFlight map[string]*Message
	dead     []Message
	ready    chan struct{}
}

// New returns an empty queue.
func New() *Queue { return &Queue{} }

// ErrTooLarge is returned by Send for a body above MaxMessageBytes.
var ErrTooLarge = errors.New("memqueue: message is larger than 256 KiB")

// ErrFull is returned by Send when the queue holds MaxBacklog messages.
var ErrFull = errors.New("memqueue: the queue is full (its backlog bound is reached); retry later")

// Send queues body as a new message.
func (q *Queue) Send(ctx context.Context, body string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if q.FailSend != nil {
		if err := q.FailSend(body); err != nil {
			return err
		}
	}
	if body == "" {
		return errors.New("memqueue: message body is empty")
	}
	if len(body) > MaxMessageBytes {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(body))
	}
	q.mu.Lock()
	if q.MaxBacklog > 0 && len(q.visible)+len(q.inFlight) >= q.MaxBacklog {
		q.mu.Unlock()
		return fmt.Errorf("%w (%d messages)", ErrFull, q.MaxBacklog)
	}
	q.visible = append(q.visible, &Message{ID: uuid.New(), Body: body, SentAt: time.Now().UTC()})
	q.signal()
	q.mu.Unlock()
	return nil
}

// Ready is signalled (without blocking, at most one pending signal) whenever a message
// becomes visible, so a consumer can wait for work instead of polling in a loop.
func (q *Queue) Ready() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.readyChan()
}

func (q *Queue) readyChan() chan struct{} {
	if q.ready == nil {
		q.ready = make(chan struct{}, 1)
	}
	return q.ready
}

// signal needs q.mu held.
func (q *Queue) signal() {
	select {
	case q.readyChan() <- struct{}{}:
	default:
	}
}

// Receive takes up to max visible messages (oldest first) and puts them in flight.
func (q *Queue) Receive(max int) []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.visible))
	if n <= 0 {
		return nil
	}
	if q.inFlight == nil {
		q.inFlight = map[string]*Message{}
	}
	out := make([]Message, n)
	for i, m := range q.visible[:n] {
		m.ReceiveCount++
		q.inFlight[m.ID] = m
		out[i] = *m
	}
	q.visible = append(q.visible[:0], q.visible[n:]...)
	return out
}

// Delete removes an in-flight message for good (it was processed). It reports whether
// the id was in flight.
func (q *Queue) Delete(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.inFlight[id]; !ok {
		return false
	}
	delete(q.inFlight, id)
	return true
}

// Release returns an in-flight message whose processing failed: it is visible again, or,
// once it has been received MaxReceives times, moved to the dead-letter list. It
// reports whether the id was in flight.
func (q *Queue) Release(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.inFlight[id]
	if !ok {
		return false
	}
	delete(q.inFlight, id)
	maxReceives := q.MaxReceives
	if maxReceives <= 0 {
		maxReceives = DefaultMaxReceives
	}
	if m.ReceiveCount >= maxReceives {
		q.dead = append(q.dead, *m)
		return true
	}
	q.visible = append(q.visible, m)
	q.signal()
	return true
}

// Len is the number of visible messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.visible)
}

// InFlight is the number of received messages neither deleted nor released.
func (q *Queue) InFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.inFlight)
}

// Pending returns a copy of every message not yet deleted nor dead-lettered — the
// visible ones (oldest first), then those in flight — for a caller that stops consuming
// and must keep what is left (serve's spill file).
func (q *Queue) Pending() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Message, 0, len(q.visible)+len(q.inFlight))
	for _, m := range q.visible {
		out = append(out, *m)
	}
	for _, m := range q.inFlight {
		out = append(out, *m)
	}
	return out
}

// DeadLetters returns a copy of the messages that failed MaxReceives times, in order.
func (q *Queue) DeadLetters() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Message(nil), q.dead...)
}

// SQSHandler is the shape of a Lambda handler for SQS events with partial batch
// responses, such as worker.Handler.Handle.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Poll receives up to max (at most MaxBatch) messages and hands them to handle as one
// events.SQSEvent, then settles them as Lambda does: messages named in the response's
// BatchItemFailures are released, the others deleted. When handle returns an error, or
// reports an item identifier that is empty or not in the batch, the whole batch is
// released and that error returned. Poll returns how many messages it handed over; 0
// means the queue had none visible and handle was not called.
func (q *Queue) Poll(ctx context.Context, max int, handle SQSHandler) (int, error) {
	msgs := q.Receive(min(max, MaxBatch))
	if len(msgs) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		ev.Records[i] = q.record(m)
	}
	resp, err := handle(ctx, ev)
	if err == nil {
		err = checkFailures(resp, msgs)
	}
	if err != nil {
		for _, m := range msgs {
			q.Release(m.ID)
		}
		return len(msgs), err
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range msgs {
		if failed[m.ID] {
			q.Release(m.ID)
		} else {
			q.Delete(m.ID)
		}
	}
	return len(msgs), nil
}

// checkFailures applies Lambda's rule: an empty or unknown itemIdentifier fails the batch.
func checkFailures(resp events.SQSEventResponse, msgs []Message) error {
	for _, f := range resp.BatchItemFailures {
		found := false
		for _, m := range msgs {
			found = found || m.ID == f.ItemIdentifier
		}
		if !found {
			return fmt.Errorf("memqueue: handler reported failure for item %q, which is not in the batch; the whole batch fails", f.ItemIdentifier)
		}
	}
	return nil
}

func (q *Queue) record(m Message) events.SQSMessage {
	name := q.Name
	if name == "" {
		name = "queue"
	}
	return events.SQSMessage{
		MessageId:     m.ID,
		ReceiptHandle: m.ID,
		Body:          m.Body,
		Attributes: map[string]string{
			"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount),
			"SentTimestamp":           strconv.FormatInt(m.SentAt.UnixMilli(), 10),
		},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:local:000000000000:" + name,
		AWSRegion:      "local",
	}
}
