// Package memqueue is an in-memory message queue: the twin of SQS (internal/queue/sqsqueue)
// for tests and for the local pipeline (`peerbridge serve`). It implements the port
// queue.Queue, and passes the conformance suite internal/queue/queuetest.
//
// Producers call Send. Consumers either drive the queue by hand — Receive, then Delete
// or ChangeVisibility — or call Poll, which does what Lambda's SQS event source mapping
// does with ReportBatchItemFailures (queue.Poll): it hands up to ten messages to a
// queue.BatchHandler, deletes the ones the handler did not report as failed, and makes
// the failed ones visible again. A message received MaxReceives times goes to the
// dead-letter list instead, like an SQS redrive policy.
//
// Differences from SQS, on purpose (queuetest.Features of the twin): order is
// first-in first-out; a message released (or whose visibility timeout ends) after its
// last allowed receive goes to the dead-letter list at once, where SQS moves it on the
// next receive; the dead-letter queue is a list (DeadLetters), not a second queue; a
// visibility timeout ends when a later call looks (no timer), and Ready is not signalled
// for it.
//
// A Queue is safe for concurrent use; the zero value is ready to use. Set the exported
// fields before sharing the Queue.
package memqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Defaults mirroring the template's queue.
const (
	DefaultMaxReceives = 5                 // the redrive policy: 5 receives, then the DLQ
	DefaultVisibility  = 180 * time.Second // the queue's VisibilityTimeout, used by Poll
	MaxMessageBytes    = queue.MaxMessageBytes
	MaxBatch           = queue.MaxBatch
)

var _ queue.Queue = (*Queue)(nil)

// Queue is the in-memory queue.
type Queue struct {
	// Name names the queue in errors; empty: "memqueue".
	Name string
	// MaxReceives is how many receives a message gets before it goes to the dead-letter
	// list; 0 means DefaultMaxReceives.
	MaxReceives int
	// Visibility is the queue's default visibility timeout, for a Receive without one
	// (and Poll); 0 means DefaultVisibility.
	Visibility time.Duration
	// FailSend, when set, is asked before each Send; a non-nil error is returned and
	// nothing is queued (an unreachable queue, for fault tests).
	FailSend func(body string) error
	// MaxBacklog, when above 0, bounds the messages held (visible and in flight): a Send
	// beyond it returns ErrFull and queues nothing, as an unreachable queue would. The
	// dead-letter list is not counted.
	MaxBacklog int
	// Journal, when set, keeps the queue on disk (internal/queue/boltqueue): Send returns
	// nil only once Journal.Sent has stored the message, and the queue tells it of each
	// message handled, dead-lettered or redriven.
	Journal Journal

	mu       sync.Mutex
	visible  []*message
	inFlight map[string]*message // by id
	dead     []queue.Message
	ready    chan struct{}
	// journaling counts the Sends being stored by the Journal, held against MaxBacklog.
	journaling int
	// told are the Journal calls to make once q.mu is released.
	told []func()
}

type message struct {
	queue.Message
	hiddenUntil time.Time // while in flight
}

// Journal is told of the queue's changes, to keep them where a restart finds them.
type Journal interface {
	// Sent stores a message before Send reports it queued; an error refuses the Send.
	Sent(m queue.Message) error
	// Deleted: the message was handled. It may be recorded lazily: a message handled
	// but found again after a crash is received again (at least once, as SQS).
	Deleted(m queue.Message)
	// DeadLettered: the message moved to the dead-letter list.
	DeadLettered(m queue.Message)
	// Redriven: the dead letter moved back to the queue, its receive count reset.
	Redriven(m queue.Message)
}

// Restore puts messages read back from a Journal into an empty queue: visible ones
// (oldest first, as received again after a restart) and dead letters. The Journal is not
// told of them.
func (q *Queue) Restore(visible, dead []queue.Message) {
	q.mu.Lock()
	defer q.unlock()
	for _, m := range visible {
		m.Receipt = ""
		q.visible = append(q.visible, &message{Message: m})
	}
	q.dead = append(q.dead, dead...)
	if len(visible) > 0 {
		q.signal()
	}
}

// New returns an empty queue.
func New() *Queue { return &Queue{} }

// ErrTooLarge is queue.ErrTooLarge, returned (wrapped) by Send for a body above
// MaxMessageBytes.
var ErrTooLarge = queue.ErrTooLarge

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
		return fmt.Errorf("%s: message body is empty", q.name())
	}
	if len(body) > MaxMessageBytes {
		return fmt.Errorf("%s: %w (%d bytes)", q.name(), ErrTooLarge, len(body))
	}
	q.mu.Lock()
	if q.MaxBacklog > 0 && len(q.visible)+len(q.inFlight)+q.journaling >= q.MaxBacklog {
		q.mu.Unlock()
		return fmt.Errorf("%w (%d messages)", ErrFull, q.MaxBacklog)
	}
	m := &message{Message: queue.Message{ID: peerdom.NewDeliveryID(), Body: body, SentAt: time.Now().UTC()}}
	if q.Journal != nil {
		// Stored first, outside the lock, so that concurrent Sends share one write.
		q.journaling++
		q.mu.Unlock()
		err := q.Journal.Sent(m.Message)
		q.mu.Lock()
		q.journaling--
		if err != nil {
			q.mu.Unlock()
			return fmt.Errorf("%s: storing the message: %w", q.name(), err)
		}
	}
	q.visible = append(q.visible, m)
	q.signal()
	q.mu.Unlock()
	return nil
}

func (q *Queue) name() string {
	if q.Name == "" {
		return "memqueue"
	}
	return q.Name
}

// Ready is signalled (without blocking, at most one pending signal) whenever a message
// is sent or released, so a consumer can wait for work instead of polling in a loop.
func (q *Queue) Ready() <-chan struct{} {
	q.mu.Lock()
	defer q.unlock()
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

// Receive takes up to max (at most MaxBatch) visible messages, oldest first, and hides
// them for visibility (0 or less: the queue's Visibility).
func (q *Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]queue.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if visibility <= 0 {
		visibility = q.Visibility
		if visibility <= 0 {
			visibility = DefaultVisibility
		}
	}
	q.mu.Lock()
	defer q.unlock()
	now := time.Now()
	q.expire(now)
	n := min(max, MaxBatch, len(q.visible))
	if n <= 0 {
		return nil, nil
	}
	if q.inFlight == nil {
		q.inFlight = map[string]*message{}
	}
	out := make([]queue.Message, n)
	for i, m := range q.visible[:n] {
		m.ReceiveCount++
		m.Receipt = m.ID + "#" + strconv.Itoa(m.ReceiveCount)
		m.hiddenUntil = now.Add(visibility)
		q.inFlight[m.ID] = m
		out[i] = m.Message
	}
	q.visible = append(q.visible[:0], q.visible[n:]...)
	return out, nil
}

// ErrUnknownReceipt is returned by Delete and ChangeVisibility for a receipt that is not
// the current one of an in-flight message: it was deleted, released, or received again.
var ErrUnknownReceipt = errors.New("receipt is not that of a message in flight")

// inFlightByReceipt needs q.mu held.
func (q *Queue) inFlightByReceipt(receipt string) (*message, error) {
	id, _, _ := strings.Cut(receipt, "#")
	if m, ok := q.inFlight[id]; ok && m.Receipt == receipt {
		return m, nil
	}
	return nil, fmt.Errorf("%s: %w: %q", q.name(), ErrUnknownReceipt, receipt)
}

// Delete removes an in-flight message for good (it was handled).
func (q *Queue) Delete(_ context.Context, receipt string) error {
	q.mu.Lock()
	defer q.unlock()
	q.expire(time.Now())
	m, err := q.inFlightByReceipt(receipt)
	if err != nil {
		return err
	}
	delete(q.inFlight, m.ID)
	if q.Journal != nil {
		q.told = append(q.told, func() { q.Journal.Deleted(m.Message) })
	}
	return nil
}

// unlock releases q.mu, then makes the Journal calls queued under it (in order: a
// message dead-lettered then redriven is told so).
func (q *Queue) unlock() {
	told := q.told
	q.told = nil
	q.mu.Unlock()
	for _, f := range told {
		f()
	}
}

// ChangeVisibility hides an in-flight message for timeout from now; a timeout of 0 or
// less releases it: it is visible again at once, or, once it has been received
// MaxReceives times, moved to the dead-letter list.
func (q *Queue) ChangeVisibility(_ context.Context, receipt string, timeout time.Duration) error {
	q.mu.Lock()
	defer q.unlock()
	now := time.Now()
	q.expire(now)
	m, err := q.inFlightByReceipt(receipt)
	if err != nil {
		return err
	}
	if timeout > 0 {
		m.hiddenUntil = now.Add(timeout)
		return nil
	}
	q.release(m)
	return nil
}

// release needs q.mu held.
func (q *Queue) release(m *message) {
	delete(q.inFlight, m.ID)
	maxReceives := q.MaxReceives
	if maxReceives <= 0 {
		maxReceives = DefaultMaxReceives
	}
	if m.ReceiveCount >= maxReceives {
		q.dead = append(q.dead, m.Message)
		if q.Journal != nil {
			dl := m.Message
			q.told = append(q.told, func() { q.Journal.DeadLettered(dl) })
		}
		return
	}
	q.visible = append(q.visible, m)
	q.signal()
}

// expire releases the in-flight messages whose visibility timeout has ended; it needs
// q.mu held.
func (q *Queue) expire(now time.Time) {
	for _, m := range q.inFlight {
		if !now.Before(m.hiddenUntil) {
			q.release(m)
		}
	}
}

// Len is the number of visible messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.unlock()
	q.expire(time.Now())
	return len(q.visible)
}

// Visible returns copies of the visible messages, oldest first, without receiving them:
// a look at what is queued, for tests and displays.
func (q *Queue) Visible() []queue.Message {
	q.mu.Lock()
	defer q.unlock()
	q.expire(time.Now())
	out := make([]queue.Message, len(q.visible))
	for i, m := range q.visible {
		out[i] = m.Message
	}
	return out
}

// InFlight is the number of received messages neither deleted nor visible again.
func (q *Queue) InFlight() int {
	q.mu.Lock()
	defer q.unlock()
	q.expire(time.Now())
	return len(q.inFlight)
}

// Pending returns a copy of every message not yet deleted nor dead-lettered — the
// visible ones (oldest first), then those in flight — for a caller that stops consuming
// and must keep what is left (serve's spill file).
func (q *Queue) Pending() []queue.Message {
	q.mu.Lock()
	defer q.unlock()
	out := make([]queue.Message, 0, len(q.visible)+len(q.inFlight))
	for _, m := range q.visible {
		out = append(out, m.Message)
	}
	for _, m := range q.inFlight {
		out = append(out, m.Message)
	}
	return out
}

// DeadLetters returns a copy of the messages that were received MaxReceives times
// without being deleted, in the order they were dead-lettered.
func (q *Queue) DeadLetters() []queue.Message {
	q.mu.Lock()
	defer q.unlock()
	q.expire(time.Now())
	return append([]queue.Message(nil), q.dead...)
}

// Poll is queue.Poll on this queue with its Visibility: it receives up to max messages
// (at most MaxBatch), hands them to handle, deletes the ones handle did not report as
// failed and releases the others. It returns how many messages it handed over.
func (q *Queue) Poll(ctx context.Context, max int, handle queue.BatchHandler) (int, error) {
	return queue.Poll(ctx, q, max, 0, handle)
}
