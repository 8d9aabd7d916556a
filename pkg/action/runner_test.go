package action_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestRunnerLogsOneLinePerEventAndReturnsErrors(t *testing.T) {
	var logs logBuffer
	calls := 0
	r := &action.Runner{Name: "demo", Logger: logs.logger(), IgnoreAuthors: []string{" BOT@acme.example "},
		Handler: action.HandlerFunc(func(ctx context.Context, ev action.Event) error {
			calls++
			action.Note(ctx, "did", ev.Detail.Name)
			switch ev.Detail.Name {
			case "fail":
				return errors.New("boom")
			case "skip":
				return action.Ignore("not mine")
			case "panic":
				panic("oops")
			}
			return nil
		})}
	ctx := context.Background()
	ok := busEvent(t, "Role Created", peerdom.Detail{ID: "d-ok", Entity: "role", Action: "created", Name: "ok", EntityID: "e1", Author: author("Jane", janeEmail)})
	if err := r.Run(ctx, ok); err != nil {
		t.Fatalf("ok: %v", err)
	}
	if err := r.Run(ctx, busEvent(t, "Role Created", peerdom.Detail{ID: "d-fail", Entity: "role", Action: "created", Name: "fail"})); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("fail: %v", err)
	}
	if err := r.Run(ctx, busEvent(t, "Role Created", peerdom.Detail{ID: "d-skip", Entity: "role", Action: "created", Name: "skip"})); err != nil {
		t.Fatalf("ignored event returned %v", err)
	}
	if err := r.Run(ctx, busEvent(t, "Role Created", peerdom.Detail{ID: "d-panic", Entity: "role", Action: "created", Name: "panic"})); err == nil || !strings.Contains(err.Error(), "panicked: oops") {
		t.Fatalf("panic: %v", err)
	}
	if err := r.Run(ctx, busEvent(t, "Role Created", peerdom.Detail{ID: "d-bot", Entity: "role", Action: "created", Name: "ok", Author: author("Bot", botEmail)})); err != nil {
		t.Fatalf("bot: %v", err)
	}
	if calls != 4 {
		t.Fatalf("handler called %d times, want 4 (not for the bot's event)", calls)
	}

	lines := logs.lines(t)
	if len(lines) != 5 {
		t.Fatalf("%d log lines, want 5: %v", len(lines), lines)
	}
	want := []struct{ delivery, outcome string }{
		{"d-ok", "done"}, {"d-fail", "failed"}, {"d-skip", "ignored"}, {"d-panic", "failed"}, {"d-bot", "ignored"},
	}
	for i, w := range want {
		l := lines[i]
		if l["action"] != "demo" || l["outcome"] != w.outcome || l["deliveryId"] != w.delivery {
			t.Errorf("line %d = %v, want delivery %s outcome %s", i, l, w.delivery, w.outcome)
		}
	}
	if lines[0]["did"] != "ok" || lines[0]["entityId"] != "e1" || lines[0]["eventId"] != ok.ID {
		t.Errorf("done line lacks the notes or ids: %v", lines[0])
	}
	if lines[1]["level"] != "ERROR" || lines[1]["error"] != "boom" {
		t.Errorf("failed line: %v", lines[1])
	}
	if !strings.Contains(lines[4]["reason"].(string), botEmail) {
		t.Errorf("bot line: %v", lines[4])
	}
}
