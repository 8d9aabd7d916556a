package action_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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
	ok := ebEvent(t, "Role Created", peerdom.Detail{ID: "d-ok", Entity: "role", Action: "created", Name: "ok", EntityID: "e1", Author: author("Jane", janeEmail)})
	if err := r.Lambda(ctx, ok); err != nil {
		t.Fatalf("ok: %v", err)
	}
	if err := r.Lambda(ctx, ebEvent(t, "Role Created", peerdom.Detail{ID: "d-fail", Entity: "role", Action: "created", Name: "fail"})); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("fail: %v", err)
	}
	if err := r.Lambda(ctx, ebEvent(t, "Role Created", peerdom.Detail{ID: "d-skip", Entity: "role", Action: "created", Name: "skip"})); err != nil {
		t.Fatalf("ignored event returned %v", err)
	}
	if err := r.Lambda(ctx, ebEvent(t, "Role Created", peerdom.Detail{ID: "d-panic", Entity: "role", Action: "created", Name: "panic"})); err == nil || !strings.Contains(err.Error(), "panicked: oops") {
		t.Fatalf("panic: %v", err)
	}
	if err := r.Lambda(ctx, ebEvent(t, "Role Created", peerdom.Detail{ID: "d-bot", Entity: "role", Action: "created", Name: "ok", Author: author("Bot", botEmail)})); err != nil {
		t.Fatalf("bot: %v", err)
	}
	bad := events.EventBridgeEvent{ID: "ev-bad", DetailType: "Role Created", Detail: json.RawMessage(`{"entity":"planet"}`)}
	if err := r.Lambda(ctx, bad); !errors.Is(err, action.ErrBadEvent) {
		t.Fatalf("bad detail: %v", err)
	}
	if calls != 4 {
		t.Fatalf("handler called %d times, want 4 (not for the bot's event nor the bad one)", calls)
	}

	lines := logs.lines(t)
	if len(lines) != 6 {
		t.Fatalf("%d log lines, want 6: %v", len(lines), lines)
	}
	want := []struct{ delivery, outcome string }{
		{"d-ok", "done"}, {"d-fail", "failed"}, {"d-skip", "ignored"}, {"d-panic", "failed"}, {"d-bot", "ignored"}, {"", "failed"},
	}
	for i, w := range want {
		l := lines[i]
		if l["action"] != "demo" || l["outcome"] != w.outcome || (w.delivery != "" && l["deliveryId"] != w.delivery) {
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
	if lines[5]["eventId"] != "ev-bad" {
		t.Errorf("bad line: %v", lines[5])
	}
}

func TestEventRoundTripsThroughEventBridgeShape(t *testing.T) {
	d := peerdom.Parse("**[Role](https://app.peerdom.org/acme/map/3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11/role/9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66)** was created\n\n**Author:** Jane Doe (jane@example.com)\n\n**Name:** Facilitator")
	d.ID = "delivery-1"
	ev := action.Event{ID: "ev-1", Source: "peerdom", DetailType: d.DetailType(), Detail: d}
	eb, err := ev.EventBridge()
	if err != nil {
		t.Fatal(err)
	}
	back, err := action.FromEventBridge(eb)
	if err != nil {
		t.Fatal(err)
	}
	if back.Detail.EntityID != "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66" || back.Detail.ID != "delivery-1" ||
		back.DetailType != "Role Created" || back.Detail.Author.Email != "jane@example.com" {
		t.Fatalf("round trip: %+v", back)
	}
	if _, err := action.FromEventBridge(events.EventBridgeEvent{ID: "x"}); !errors.Is(err, action.ErrBadEvent) {
		t.Fatalf("empty detail: %v", err)
	}
}
