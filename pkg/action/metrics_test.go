package action_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/metrics/metricstest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// TestRunnerCountsOutcomesByAction: one valid EMF line per event, its outcome's count
// under the action's name.
func TestRunnerCountsOutcomesByAction(t *testing.T) {
	var out bytes.Buffer
	var logs logBuffer
	r := &action.Runner{Name: "demo", Logger: logs.logger(), Metrics: &metrics.Writer{W: &out, Namespace: "peerbridge/test", Detailed: true},
		Handler: action.HandlerFunc(func(ctx context.Context, ev action.Event) error {
			switch ev.Detail.Name {
			case "fail":
				return errors.New("boom")
			case "skip":
				return action.Ignore("not mine")
			}
			return nil
		})}
	for _, name := range []string{"ok", "fail", "skip"} {
		r.Run(context.Background(), busEvent(t, "Role Created", peerdom.Detail{ID: "d-" + name, Entity: "role", Action: "created", Name: name}))
	}
	lines, err := metricstest.Lines(out.String())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{metrics.ActionsDone, metrics.ActionsFailed, metrics.ActionsIgnored}
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		if len(l) != 1 || l[want[i]] != 1 {
			t.Errorf("event %d: %v, want %s", i, l, want[i])
		}
	}
	if strings.Count(out.String(), `"Action":"demo"`) != 3 {
		t.Errorf("lines lack the action's dimension:\n%s", out.String())
	}
}
