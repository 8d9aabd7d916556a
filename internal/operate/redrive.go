package operate

import (
	"context"
	"errors"
)

// RedriveResult is what a redrive of the webhook dead letters did.
type RedriveResult struct {
	Moved  int    `json:"moved"`
	Method string `json:"method"` // "move task" or "one by one"
	// StillHidden counts messages an interrupted redrive still hides: run it again in a
	// minute (none is sent twice).
	StillHidden int `json:"stillHidden,omitempty"`
	// MoveTaskErr is why SQS's move task was not used for an --all redrive (nil when it was,
	// or when ids were named).
	MoveTaskErr error `json:"-"`
}

// RedriveWebhooks moves the webhook dead letters back to the webhook queue at to: all of
// them when ids is empty, with SQS's move task where SQS offers it and one message at a
// time where it does not; else only the named ones (SQS message ids or delivery ids), one
// at a time. r's To and IDs are set from to and ids; its Journal and Progress are kept.
// progress, when set, is told the move task's progress.
func RedriveWebhooks(ctx context.Context, d DLQ, to string, ids []string, r Redrive, progress func(moved, total int)) (RedriveResult, error) {
	var res RedriveResult
	if len(ids) == 0 {
		moved, err := d.MoveTask(ctx, progress)
		if err == nil {
			return RedriveResult{Moved: moved, Method: "move task"}, nil
		}
		if !errors.Is(err, ErrMoveTaskUnavailable) {
			return RedriveResult{Moved: moved, Method: "move task"}, err
		}
		res.MoveTaskErr = err
	}
	r.To, r.IDs = to, ids
	res.Method = "one by one"
	var err error
	res.Moved, res.StillHidden, err = d.MoveOneByOne(ctx, r)
	return res, err
}
