package action_test

import (
	"context"
	"errors"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// OnResult gets each event's outcome typed, the same as its log line says, with the
// ignore reason or the error.
func TestRunnerOnResult(t *testing.T) {
	var logs logBuffer
	type got struct {
		delivery string
		res      action.Result
	}
	var results []got
	r := &action.Runner{Name: "demo", Logger: logs.logger(),
		Handler: action.HandlerFunc(func(ctx context.Context, ev action.Event) error {
			switch ev.Detail.Name {
			case "fail":
				return errors.New("boom")
			case "skip":
				return action.Ignore("not mine")
			}
			return nil
		}),
		OnResult: func(_ context.Context, ev action.Event, res action.Result) {
			results = append(results, got{ev.Detail.ID, res})
		}}
	for _, name := range []string{"ok", "fail", "skip"} {
		r.Run(context.Background(), busEvent(t, "Role Created", peerdom.Detail{ID: "d-" + name, Entity: "role", Action: "created", Name: name}))
	}
	lines := logs.lines(t)
	if len(results) != 3 || len(lines) != 3 {
		t.Fatalf("%d results, %d log lines; want 3 each", len(results), len(lines))
	}
	want := []struct {
		outcome action.Outcome
		reason  string
		err     bool
	}{{action.OutcomeDone, "", false}, {action.OutcomeFailed, "", true}, {action.OutcomeIgnored, "not mine", false}}
	for i, w := range want {
		g := results[i]
		if g.res.Outcome != w.outcome || g.res.Reason != w.reason || (g.res.Err != nil) != w.err || g.delivery != lines[i]["deliveryId"] {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
		if lines[i]["outcome"] != string(g.res.Outcome) {
			t.Errorf("event %d: log says %v, OnResult %s", i, lines[i]["outcome"], g.res.Outcome)
		}
	}
}
