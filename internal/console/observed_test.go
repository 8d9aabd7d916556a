package console

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/observe"
)

// publishEvent puts on s the records serve makes for one event with one action.
func publishEvent(s *observe.Stream, eventID, delivery, name string, outcome observe.Outcome) {
	detail, _ := json.Marshal(map[string]any{"id": delivery, "entity": "role", "name": name,
		"changes": []map[string]any{{"field": "Name", "old": "Old", "new": name}}, "text": "**[Role](x)** was updated"})
	bus, _ := json.Marshal(map[string]any{"id": eventID, "detail-type": "Role Updated", "detail": json.RawMessage(detail)})
	s.Publish(observe.Record{Kind: observe.KindPublished, EventID: eventID, DeliveryID: delivery,
		Published: &observe.Published{DetailType: "Role Updated", Event: bus, RoutedTo: []string{"RoleDefaultsFunction"}}})
	s.Publish(observe.Record{Kind: observe.KindRouted, EventID: eventID, DeliveryID: delivery,
		Routed: &observe.Routed{Rule: "RoleDefaultsRule", Function: "RoleDefaultsFunction", Pattern: `{"source":["peerdom"],"detail":{"entity":["role"]}}`, Delivered: true}})
	s.Publish(observe.Record{Kind: observe.KindActionStart, EventID: eventID, DeliveryID: delivery,
		Action: &observe.Action{Function: "RoleDefaultsFunction", Rule: "RoleDefaultsRule", Attempt: 1}})
	s.Publish(observe.Record{Kind: observe.KindAPICall, EventID: eventID, DeliveryID: delivery,
		APICall: &observe.APICall{Function: "RoleDefaultsFunction", Method: "PUT", Path: "/v1/roles/r1", Status: 200, Duration: 3 * time.Millisecond, Request: `{"purpose":"x"}`}})
	s.Publish(observe.Record{Kind: observe.KindOutcome, EventID: eventID, DeliveryID: delivery,
		Outcome: &observe.ActionOutcome{Function: "RoleDefaultsFunction", Attempt: 1, Outcome: outcome, Final: true}})
}

func TestObservedAssemblesEvents(t *testing.T) {
	s := observe.New(observe.Options{})
	publishEvent(s, "e1", "d1", "Lead Facilitator", observe.Done)
	publishEvent(s, "e2", "d2", "Scribe", observe.Ignored)
	src := Observed(s, nil)
	evs := src.Events()
	if len(evs) != 2 || evs[0].ID != "e1" || evs[1].ID != "e2" {
		t.Fatalf("events %+v", evs)
	}
	ev, ok := src.Event("e1")
	if !ok {
		t.Fatal("no e1")
	}
	var d detail
	json.Unmarshal(ev.Detail, &d)
	if d.ID != "d1" || d.Name != "Lead Facilitator" || ev.DetailType != "Role Updated" {
		t.Errorf("detail %+v of %+v", d, ev)
	}
	if len(ev.Routes) != 1 || ev.Routes[0].Rule != "RoleDefaultsRule" || len(ev.Routes[0].Targets) != 1 ||
		len(ev.Routes[0].Matched) != 2 || ev.Routes[0].Matched[0] != "detail.entity" || ev.Routes[0].Matched[1] != "source" {
		t.Errorf("routes %+v", ev.Routes)
	}
	if len(ev.Actions) != 1 || ev.Actions[0].Outcome != OutcomeDone || len(ev.Actions[0].Calls) != 1 || ev.Actions[0].Calls[0].Path != "/v1/roles/r1" {
		t.Errorf("actions %+v", ev.Actions)
	}
	if e2, _ := src.Event("e2"); outcome(e2) != OutcomeIgnored {
		t.Errorf("e2 outcome %s", outcome(e2))
	}
	if _, ok := src.Event("nope"); ok {
		t.Error("an unknown event was found")
	}
	if _, err := src.DeadLetters(context.Background()); err != ErrUnavailable {
		t.Errorf("DeadLetters without operations: %v", err)
	}
}

func TestObservedSubscribeSendsEachChange(t *testing.T) {
	s := observe.New(observe.Options{})
	// An event published before the subscription, whose action ends after it.
	s.Publish(observe.Record{Kind: observe.KindPublished, EventID: "old", Published: &observe.Published{DetailType: "Peer Created", Event: json.RawMessage(`{"detail":{"id":"d0"}}`)}})
	s.Publish(observe.Record{Kind: observe.KindActionStart, EventID: "old", Action: &observe.Action{Function: "OnboardPeerFunction", Attempt: 1}})
	src := Observed(s, nil)
	updates, cancel := src.Subscribe()
	s.Publish(observe.Record{Kind: observe.KindOutcome, EventID: "old", Outcome: &observe.ActionOutcome{Function: "OnboardPeerFunction", Attempt: 1, Outcome: observe.Failed, Error: "500", Final: true}})
	ev := <-updates
	if ev.ID != "old" || len(ev.Actions) != 1 || ev.Actions[0].Outcome != OutcomeFailed || ev.Actions[0].Reason != "500" {
		t.Fatalf("update of the old event %+v", ev)
	}
	publishEvent(s, "e1", "d1", "Lead Facilitator", observe.Done)
	var last Event
	for i := 0; i < 5; i++ { // published, routed, started, call, outcome
		last = <-updates
		if last.ID != "e1" {
			t.Fatalf("update %d about %s", i, last.ID)
		}
	}
	if outcome(last) != OutcomeDone || len(last.Actions[0].Calls) != 1 {
		t.Errorf("last update %+v", last)
	}
	cancel()
	for range updates { // closed once the subscription ends
	}
	if n := s.Subscribers(); n != 0 {
		t.Errorf("%d subscribers after cancel", n)
	}
}
