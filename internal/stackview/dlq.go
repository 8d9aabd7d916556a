package stackview

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// The dead-letter queues, by the names `peerbridge dlq --queue` takes.
const (
	Webhooks = operate.Webhooks // WebhookDLQ: deliveries the worker failed on
	Events   = operate.Events   // EventDeliveryDLQ: events a rule or an action failed on
)

// ErrNoEventRedrive is returned by Redrive for the events queue: an event has no queue to
// go back to. Re-run it from the archive (`peerbridge replay --rule RULE`), then purge.
var ErrNoEventRedrive = errors.New("events have no queue to go back to: re-run them from the archive with `peerbridge replay --rule RULE`, then purge the events dead-letter queue")

// ErrUnknownQueue is returned for a queue name other than Webhooks and Events.
var ErrUnknownQueue = errors.New("the dead-letter queue is webhooks or events")

func (v *View) dlq(queue string) (operate.DLQ, error) {
	var output string
	switch queue {
	case Webhooks:
		output = operate.OutputWebhookDLQURL
	case Events:
		output = operate.OutputEventDLQURL
	default:
		return operate.DLQ{}, fmt.Errorf("%w, not %q", ErrUnknownQueue, queue)
	}
	url, err := v.stack.Output(output)
	if err != nil {
		return operate.DLQ{}, err
	}
	return operate.DLQ{SQS: v.sqs, URL: url, Kind: queue, Logs: v.logs, WorkerLogGroup: v.stack.WorkerLogGroup()}, nil
}

// DeadLetters lists up to limit messages (0: all) of the queue (Webhooks or Events),
// oldest first, each with why it failed: for a delivery the worker's last logged error,
// for an event EventBridge's or the action's error; with withBody, each message's body
// (the delivery envelope with the webhook's text, or the event). Listing hides the
// messages for a moment (SQS has no peek) and makes them visible again before it returns.
func (v *View) DeadLetters(ctx context.Context, queue string, limit int, withBody bool) ([]operate.DeadLetter, error) {
	d, err := v.dlq(queue)
	if err != nil {
		return nil, err
	}
	return d.List(ctx, limit, withBody)
}

// DeadLetter is one message of the queue, with its body, by its SQS message id, its
// delivery id (webhooks) or its event id (events).
func (v *View) DeadLetter(ctx context.Context, queue, id string) (operate.DeadLetter, error) {
	d, err := v.dlq(queue)
	if err != nil {
		return operate.DeadLetter{}, err
	}
	return d.Show(ctx, id)
}

// Redrive moves webhook dead letters back to the webhook queue, to be processed again:
// the named ones (SQS message ids or delivery ids), or all when ids is empty, as
// `peerbridge dlq redrive` does (SQS's move task for all where SQS offers it, else one
// message at a time through a journal, so none is sent twice even when a redrive is
// interrupted and run again). Redrives and purges of a View run one at a time. The
// events queue answers ErrNoEventRedrive. A result with
// Moved < len(ids) means some ids were not in the queue.
func (v *View) Redrive(ctx context.Context, queue string, ids []string) (operate.RedriveResult, error) {
	if queue == Events {
		return operate.RedriveResult{}, ErrNoEventRedrive
	}
	d, err := v.dlq(queue)
	if err != nil {
		return operate.RedriveResult{}, err
	}
	to, err := v.stack.Output(operate.OutputWebhookQueueURL)
	if err != nil {
		return operate.RedriveResult{}, err
	}
	v.moveMu.Lock() // one move at a time: two tabs pressing redrive take turns
	defer v.moveMu.Unlock()
	journal := operate.DefaultJournal(d.URL)
	if v.opts.JournalDir != "" {
		journal = filepath.Join(v.opts.JournalDir, filepath.Base(journal))
	}
	res, err := operate.RedriveWebhooks(ctx, d, to, ids, operate.Redrive{Journal: journal}, nil)
	if res.Moved > 0 {
		v.stream.Publish(observe.Record{Kind: observe.KindRedriven, Redriven: &observe.Redriven{Queue: observe.QueueWebhooks, Count: res.Moved, IDs: ids}})
	}
	return res, err
}

// Purge deletes every message of the queue for good (sqs:PurgeQueue) and returns how
// many it held (SQS's approximate count just before). The console asks first. A redrive
// or a purge is also published to the stream (observe.KindRedriven, KindPurged), as
// serve records its own.
func (v *View) Purge(ctx context.Context, queue string) (int, error) {
	d, err := v.dlq(queue)
	if err != nil {
		return 0, err
	}
	v.moveMu.Lock()
	defer v.moveMu.Unlock()
	visible, inFlight, err := d.Count(ctx)
	if err != nil {
		return 0, err
	}
	if err := d.Purge(ctx); err != nil {
		return 0, err
	}
	v.stream.Publish(observe.Record{Kind: observe.KindPurged, Purged: &observe.Purged{Queue: queue, Count: visible + inFlight}})
	return visible + inFlight, nil
}
