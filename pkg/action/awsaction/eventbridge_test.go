package awsaction_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestEventRoundTripsThroughEventBridgeShape(t *testing.T) {
	d := peerdom.Parse("**[Role](https://app.peerdom.org/acme/map/3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11/role/9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66)** was created\n\n**Author:** Jane Doe (jane@example.com)\n\n**Name:** Facilitator")
	d.ID = "delivery-1"
	ev := action.Event{ID: "ev-1", Source: "peerdom", DetailType: d.DetailType(), Detail: d}
	eb, err := awsaction.ToEventBridge(ev)
	if err != nil {
		t.Fatal(err)
	}
	back, err := awsaction.FromEventBridge(eb)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != "ev-1" || back.Detail.EntityID != "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66" || back.Detail.ID != "delivery-1" ||
		back.DetailType != "Role Created" || back.Detail.Author.Email != "jane@example.com" {
		t.Fatalf("round trip: %+v", back)
	}
	for _, detail := range []string{"", "null", `{"entity":"planet"}`, `[1]`} {
		if _, err := awsaction.FromEventBridge(events.EventBridgeEvent{ID: "x", Detail: json.RawMessage(detail)}); !errors.Is(err, action.ErrBadEvent) {
			t.Errorf("detail %q: %v, want ErrBadEvent", detail, err)
		}
	}
}

func TestEventBridgeHandlerRunsTheRunnerOrLogsABadEvent(t *testing.T) {
	var logs bytes.Buffer
	var got []action.Event
	r := &action.Runner{Name: "demo", Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Handler: action.HandlerFunc(func(_ context.Context, ev action.Event) error { got = append(got, ev); return nil })}
	handle := awsaction.EventBridgeHandler(r)
	ctx := context.Background()

	good, _ := awsaction.ToEventBridge(action.Event{ID: "ev-good", Source: "peerdom", DetailType: "Role Created",
		Detail: peerdom.Detail{ID: "d-1", Entity: "role", Action: "created", Name: "Scribe", Text: "t"}})
	if err := handle(ctx, good); err != nil {
		t.Fatal(err)
	}
	bad := events.EventBridgeEvent{ID: "ev-bad", DetailType: "Role Created", Detail: json.RawMessage(`{"entity":"planet"}`)}
	if err := handle(ctx, bad); !errors.Is(err, action.ErrBadEvent) {
		t.Fatalf("bad detail: %v", err)
	}
	if len(got) != 1 || got[0].ID != "ev-good" || got[0].Detail.Name != "Scribe" || got[0].Detail.ID != "d-1" {
		t.Fatalf("handler got %+v", got)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"outcome":"done"`) || !strings.Contains(lines[1], `"eventId":"ev-bad"`) ||
		!strings.Contains(lines[1], `"outcome":"failed"`) || !strings.Contains(lines[1], `"level":"ERROR"`) {
		t.Fatalf("one line per event, want done then failed:\n%s", logs.String())
	}
}
