package action_test

import (
	"context"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// TestPermanentFailuresAreIgnoredWithAReason: an event that names no entity, or whose
// entity was deleted since the webhook, can never succeed: the shipped actions end it as
// ignored with a reason saying which (no error, so no retries, no dead letter, no alarm).
// A 404 for a configured entity (an onboarding role) is a setting to fix, and fails.
func TestPermanentFailuresAreIgnoredWithAReason(t *testing.T) {
	s := newPeerdom(t, nil)
	api := fastClient(s)
	onboarding := s.AddRole(peerdomapi.Role{Name: "Onboarding buddy"})
	onboard, _ := action.NewOnboardPeer(api, []string{onboarding.ID})
	onboardMissingRole, _ := action.NewOnboardPeer(api, []string{"00000000-0000-4000-8000-00000000dead"})
	defaults, _ := action.NewRoleDefaults(api, []action.FieldDefault{{Name: "Purpose", Values: []string{"To be defined"}}})
	enrich, _ := action.NewEnrich(api, membus.New(), "")
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	const deleted = "00000000-0000-4000-8000-000000000404"

	cases := []struct {
		name       string
		handler    action.Handler
		detailType string
		detail     peerdom.Detail
		outcome    string
		reason     string // in the log line's reason (ignored) or error (failed)
	}{
		{"no id and no name", onboard, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created"}, "ignored", "names no entity (no entityId and no name)"},
		{"peer deleted since", onboard, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", EntityID: deleted}, "ignored", "peer " + deleted + " is gone from Peerdom (deleted since the webhook)"},
		{"no peer by that name", onboard, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", Name: "Nobody Here"}, "ignored", `the peer named "Nobody Here" is gone from Peerdom`},
		{"role deleted since", defaults, "Role Created", peerdom.Detail{Entity: "role", Action: "created", EntityID: deleted}, "ignored", "role " + deleted + " is gone"},
		{"group deleted since", enrich, "Group Updated", peerdom.Detail{Entity: "group", Action: "updated", EntityID: deleted}, "ignored", "group " + deleted + " is gone"},
		{"onboarding role missing", onboardMissingRole, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", EntityID: ada.ID}, "failed", "reading onboarding role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			r := &action.Runner{Name: "demo", Handler: tc.handler, Logger: logs.logger()}
			err := r.Run(context.Background(), busEvent(t, tc.detailType, tc.detail))
			if (tc.outcome == "failed") != (err != nil) {
				t.Errorf("Run returned %v for outcome %s", err, tc.outcome)
			}
			lines := logs.lines(t)
			if len(lines) != 1 {
				t.Fatalf("log lines %v", lines)
			}
			text, _ := lines[0]["reason"].(string)
			if tc.outcome == "failed" {
				text, _ = lines[0]["error"].(string)
			}
			if lines[0]["outcome"] != tc.outcome || !strings.Contains(text, tc.reason) {
				t.Errorf("outcome %v, %q; want %s with %q", lines[0]["outcome"], text, tc.outcome, tc.reason)
			}
		})
	}
	if w := s.Writes(); len(w) != 0 {
		t.Errorf("writes %+v", w)
	}
}
