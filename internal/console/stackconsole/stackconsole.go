// Package stackconsole is the console's source for a deployed stack (`peerbridge console
// --stack NAME`): the events of the stack's bus as a tail brings them (internal/stackview
// publishes them as observe records, as serve does), its status page, and its dead-letter
// queues with redrive and purge. A stack has no sandbox, no samples to send and no
// replay here (`peerbridge replay` re-runs events from the bus's archive).
package stackconsole

import (
	"cmp"
	"context"

	"github.com/peerbridge/peerbridge/internal/console"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/stackview"
)

// New is the console's source over the view (whose tail the caller runs).
func New(v *stackview.View) console.Source {
	return source{Source: console.Observed(v.Stream(), ops{v: v}), v: v}
}

type source struct {
	console.Source
	v *stackview.View
}

// Status is the stack's status page, with the tail's state.
func (s source) Status(ctx context.Context) (console.Status, error) {
	st, err := s.v.Status(ctx, false)
	if err != nil {
		return console.Status{}, err
	}
	out := console.OperateStatus(st)
	tail, _ := s.v.TailStatus()
	row := console.StatusRow{Name: "live tail of " + tail.Bus, Value: tail.State}
	if tail.Rule != "" {
		row.Value += " (temporary rule and queue " + tail.Rule + ")"
	}
	if tail.Err != "" {
		row.Value += ": " + tail.Err
		row.Bad = tail.State != stackview.TailRunning
	}
	out.Sections = append(out.Sections, console.StatusSection{Title: "The console", Rows: []console.StatusRow{row}})
	return out, nil
}

type ops struct {
	console.NoOperations
	v *stackview.View
}

func (o ops) DeadLetters(ctx context.Context) ([]console.DeadLetter, error) {
	var out []console.DeadLetter
	for _, q := range []string{stackview.Webhooks, stackview.Events} {
		letters, err := o.v.DeadLetters(ctx, q, 0, true)
		if err != nil {
			return out, err
		}
		for _, l := range letters {
			out = append(out, letter(q, l))
		}
	}
	return out, nil
}

func letter(q string, l operate.DeadLetter) console.DeadLetter {
	return console.DeadLetter{Queue: q, ID: l.MessageID, Time: l.SentAt, Receives: l.ReceiveCount,
		Error: l.Reason, Function: cmp.Or(l.Target, l.Rule), DeliveryID: cmp.Or(l.DeliveryID, l.EventID), Body: l.Body}
}

func (o ops) Redrive(ctx context.Context, queue, id string) (int, error) {
	var ids []string
	if id != "" {
		ids = []string{id}
	}
	res, err := o.v.Redrive(ctx, queue, ids)
	return res.Moved, err
}

func (o ops) Purge(ctx context.Context, queue string) (int, error) { return o.v.Purge(ctx, queue) }
