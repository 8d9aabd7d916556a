package action_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestWritesConverge runs onboard-peer and role-defaults against the double with its
// webhooks fed back through the real parser, the way the deployed pipeline does: every
// write the actions make comes back to them as a new event. Every event is delivered
// twice (EventBridge is at-least-once) and to both actions (as a catch-all rule would).
// Each desired change must be written exactly once, and then the loop must stop — under
// every unverified behaviour of the API the double can take.
func TestWritesConverge(t *testing.T) {
	for _, alt := range peerdomtest.Alternatives() {
		for _, tc := range []struct {
			name          string
			ignoreAuthors []string
		}{
			{"state checks alone", nil},
			{"with IGNORE_AUTHORS", []string{botEmail}},
		} {
			t.Run(alt.Name+"/"+tc.name, func(t *testing.T) { testWritesConverge(t, alt, tc.ignoreAuthors) })
		}
	}
}

func testWritesConverge(t *testing.T, alt peerdomtest.Alternative, ignoreAuthors []string) {
	var runners []*action.Runner
	var mu sync.Mutex
	var failures []string
	var logs logBuffer
	deliver := func(ctx context.Context, body []byte) {
		wh, err := peerdom.DecodeWebhook(body)
		if err != nil {
			t.Errorf("the double sent a bad webhook: %v", err)
			return
		}
		pe := peerdom.NewEvent("peerdom", peerdom.NewDelivery("", time.Now(), wh.Text, peerdom.Sender{}))
		for copy := 0; copy < 2; copy++ {
			ev := action.FromPeerdom(peerdom.NewDeliveryID(), pe)
			// Through the detail's JSON, as the bus carries it.
			b, err := json.Marshal(ev.Detail)
			if err == nil {
				ev.Detail, err = peerdom.DecodeDetail(b)
			}
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range runners {
				if err := r.Run(ctx, ev); err != nil {
					mu.Lock()
					failures = append(failures, r.Name+": "+err.Error())
					mu.Unlock()
				}
			}
		}
	}
	s := newPeerdomUnder(t, alt, deliver)
	api := fastClient(s)
	welcome := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	buddy := s.AddRole(peerdomapi.Role{Name: "Buddy"})
	onboard, _ := action.NewOnboardPeer(api, []string{welcome.ID, buddy.ID})
	defaults, _ := action.ParseFieldDefaults(`{"Purpose": "To be defined", "Accountabilities": ["Tbd", "Later"], "Review": "yearly"}`)
	roleDefaults, _ := action.NewRoleDefaults(api, defaults)
	runners = []*action.Runner{
		{Name: "onboard-peer", Handler: onboard, IgnoreAuthors: ignoreAuthors, Logger: logs.logger()},
		{Name: "role-defaults", Handler: roleDefaults, IgnoreAuthors: ignoreAuthors, Logger: logs.logger()},
	}

	// Jane, a person, works in Peerdom.
	jane := s.ClientWithKey(janeKey)
	ctx := context.Background()
	ada, err := jane.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	scribe, err := jane.Roles().Create(ctx, roleInput(s, "Scribe", map[string][]string{"Skills": {"Go", "SQL"}, "Office": {"Zurich"}}))
	if err != nil {
		t.Fatal(err)
	}
	done, err := jane.Roles().Create(ctx, roleInput(s, "Archivist", map[string][]string{
		"Purpose": {"Keep records"}, "Accountabilities": {"Archive"}, "Review": {"never"}}))
	if err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.WaitWebhooks(wctx); err != nil {
		t.Fatalf("the loop did not stop: %v (bot writes so far: %d)", err, len(s.WritesBy(botEmail)))
	}
	if len(failures) > 0 {
		t.Fatalf("action failures: %v", failures)
	}

	// Each desired change written once: two assignments, one fill of Scribe.
	got := writesBy(s, botEmail)
	slices.Sort(got)
	want := []string{"POST /roles/" + buddy.ID + "/peers", "POST /roles/" + welcome.ID + "/peers", "PUT /roles/" + scribe.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("bot writes = %v, want %v", got, want)
	}
	if holdersOf(s, welcome.ID, ada.ID) != 1 || holdersOf(s, buddy.ID, ada.ID) != 1 {
		t.Fatalf("holders = %+v", s.Holders())
	}
	// Scribe got the defaults and kept its own fields, whether the PUT merged or replaced.
	for name, want := range map[string][]string{"Purpose": {"To be defined"}, "Accountabilities": {"Tbd", "Later"}, "Review": {"yearly"},
		"Skills": {"Go", "SQL"}, "Office": {"Zurich"}} {
		if v := field(t, s, scribe.ID, name); !slices.Equal(v, want) {
			t.Errorf("Scribe %s = %q, want %q", name, v, want)
		}
	}
	for name, want := range map[string][]string{"Purpose": {"Keep records"}, "Accountabilities": {"Archive"}, "Review": {"never"}} {
		if v := field(t, s, done.ID, name); !slices.Equal(v, want) {
			t.Errorf("Archivist %s = %q, want %q", name, v, want)
		}
	}

	// The bot's writes did come back as webhooks (3 from Jane, 3 from the bot), and every
	// one was handled twice by both actions.
	hooks := s.Webhooks()
	botHooks := 0
	for _, h := range hooks {
		if strings.Contains(h, "("+botEmail+")") {
			botHooks++
		}
	}
	if len(hooks) != 6 || botHooks != 3 {
		t.Fatalf("webhooks = %d (bot %d), want 6 (bot 3):\n%s", len(hooks), botHooks, strings.Join(hooks, "\n---\n"))
	}
	lines := logs.lines(t)
	if len(lines) != 6*2*2 {
		t.Fatalf("log lines = %d, want %d", len(lines), 6*2*2)
	}
	ignoredByAuthor := 0
	for _, l := range lines {
		if r, _ := l["reason"].(string); strings.HasPrefix(r, "authored by") {
			ignoredByAuthor++
		}
	}
	if want := map[bool]int{true: 3 * 2 * 2, false: 0}[len(ignoreAuthors) > 0]; ignoredByAuthor != want {
		t.Fatalf("events ignored by author = %d, want %d", ignoredByAuthor, want)
	}
}
