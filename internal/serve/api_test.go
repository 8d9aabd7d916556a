package serve

import (
	"context"
	"net/http"
	"testing"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// published is the record of the event with this delivery id, once it is there.
func published(t *testing.T, s *Stack, pred func(*observe.Record) bool) observe.Record {
	t.Helper()
	var got []observe.Record
	servetest.WaitFor(t, "the event's record", func() bool {
		got = s.Records().Filter(func(r *observe.Record) bool { return r.Published != nil && pred(r) })
		return len(got) > 0
	})
	return got[0]
}

// TestConsoleAPI: what a console does in serve's process — send a sample, edit the
// sandbox and see its webhook come back as an event, replay an event to one rule, list,
// redrive and purge dead letters — each visible in the record.
func TestConsoleAPI(t *testing.T) {
	s, _, _ := startTestStack(t, nil)
	defer s.Shutdown(context.Background())
	ctx := t.Context()

	id, status, err := s.SendSample(ctx, "role-created")
	if err != nil || status != 200 || id == "" {
		t.Fatalf("SendSample: %q %d %v", id, status, err)
	}
	ev := published(t, s, func(r *observe.Record) bool { return r.DeliveryID == id })
	if ev.Published.DetailType != "Role Created" || len(ev.Published.Event) == 0 || ev.Published.Text == "" {
		t.Errorf("the sample's record: %+v", ev.Published)
	}
	if _, _, err := s.SendSample(ctx, "no-such-kind"); err == nil {
		t.Error("SendSample of an unknown kind: no error")
	}

	// The sandbox: rename a role; its webhook comes back as a Role Updated event.
	api, err := s.SandboxAPI()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Roles().Update(ctx, webhooksamples.RoleID, peerdomapi.RoleInput{Name: "Renamed in the console"}); err != nil {
		t.Fatal(err)
	}
	published(t, s, func(r *observe.Record) bool {
		return r.Published.DetailType == "Role Updated" && r.Published.Name == "Renamed in the console"
	})

	// Replay the sample's event to one rule: one new attempt of that function.
	var rule Rule
	for _, r := range s.Rules() {
		if r.Function == "EnrichFunction" {
			rule = r
		}
	}
	starts := func() int {
		return len(s.Records().Filter(func(r *observe.Record) bool {
			return r.Action != nil && r.EventID == ev.EventID && r.Action.Function == rule.Function
		}))
	}
	servetest.WaitFor(t, "enrich's first run", func() bool { return starts() == 1 })
	if err := s.ReplayEvent(ev.EventID, rule.Function, rule.Rule); err != nil {
		t.Fatal(err)
	}
	servetest.WaitFor(t, "the replay's run", func() bool { return starts() == 2 })
	if err := s.ReplayEvent("no-such-event", rule.Function, rule.Rule); err != ErrNotInRecord {
		t.Errorf("replay of an unknown event: %v", err)
	}

	// Dead letters: an action event (onboarding's write refused on every attempt) and a
	// queue message that is no webhook.
	s.Sandbox().InjectFault(peerdomtest.Fault{Method: http.MethodPost, Path: "/roles", Status: http.StatusBadRequest, Times: 3})
	if _, _, err := s.SendSample(ctx, "peer-created"); err != nil {
		t.Fatal(err)
	}
	s.Pipeline().Queue.Send(ctx, "not an envelope")
	servetest.WaitFor(t, "two dead letters", func() bool {
		return len(s.DeadLetters(operate.Events)) == 1 && len(s.DeadLetters(operate.Webhooks)) == 1
	})
	dead := s.DeadLetters(operate.Events)[0]
	if dead.Reason == "" || dead.Body == "" || dead.Target != "OnboardPeerFunction" {
		t.Errorf("the event's dead letter: %+v", dead)
	}
	// Its three attempts are in the record: two failed and retried, the last final.
	var failed, retried, final int
	for _, r := range s.Records().Filter(func(r *observe.Record) bool { return r.EventID == dead.EventID }) {
		switch {
		case r.Outcome != nil && r.Outcome.Function == "OnboardPeerFunction" && r.Outcome.Outcome == observe.Failed:
			failed++
			if r.Outcome.Final {
				final++
			}
		case r.Retried != nil:
			retried++
		}
	}
	if failed != 3 || retried != 2 || final != 1 {
		t.Errorf("the dead event's records: %d failed attempts (%d final), %d retries; want 3 (1), 2", failed, final, retried)
	}
	if n, err := s.Redrive(operate.Events, []string{dead.EventID}, false); n != 1 || err != nil {
		t.Fatalf("redrive: %d %v", n, err)
	}
	servetest.WaitFor(t, "the redriven action done", func() bool {
		return len(s.Records().Filter(func(r *observe.Record) bool {
			return r.Outcome != nil && r.EventID == dead.EventID && r.Outcome.Function == "OnboardPeerFunction" && r.Outcome.Outcome == observe.Done
		})) == 1
	})
	if n, err := s.Purge(operate.Webhooks, nil, true); n != 1 || err != nil || len(s.DeadLetters(operate.Webhooks)) != 0 {
		t.Errorf("purge: %d %v, %d left", n, err, len(s.DeadLetters(operate.Webhooks)))
	}
	if _, err := s.Purge("nope", nil, true); err == nil {
		t.Error("purge of an unknown list: no error")
	}
	c := s.Records().Counts()
	if c.Redriven != 1 || c.Purged != 1 || c.EventsDeadLettered != 1 || c.WebhooksDeadLettered != 1 {
		t.Errorf("counts: %+v", c)
	}
	if st := s.Status(); st.DLQs[0].Visible != 0 || st.DLQs[1].Visible != 0 {
		t.Errorf("status after redrive and purge: %+v", st.DLQs)
	}
}
