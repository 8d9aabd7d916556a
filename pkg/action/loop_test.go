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
)

// TestWritesConverge runs onboard-peer and role-defaults against the double with its
// webhooks fed back through the real parser, the way the deployed pipeline does: every
// write the actions make comes back to them as a new event. Every event is delivered
// twice (EventBridge is at-least-once) and to both actions (as a catch-all rule would).
// Each desired change must be written exactly once, and then the loop must stop.
func TestWritesConverge(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ignoreAuthors []string
	}{
		{"state checks alone", nil},
		{"with IGNORE_AUTHORS", []string{botEmail}},
	} {
		t.Run(tc.name, func(t *testing.T) { testWritesConverge(t, tc.ignoreAuthors) })
	}
}

func testWritesConverge(t *testing.T, ignoreAuthors []string) {
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
	s := newPeerdom(t, deliver)
	api := fastClient(s)
	welcome := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	buddy := s.AddRole(peerdomapi.Role{Name: "Buddy"})
	onboard, _ := action.NewOnboardPeer(api, []string{welcome.ID, buddy.ID})
	defaults, _ := action.ParseFieldDefaults(`{"Purpose": "To be defined", "Accountabilities": ["Tbd"]}`)
	roleDefaults, _ := action.NewRoleDefaults(api, defaults)
	runners = []*action.Runner{
		{Name: "onboard-peer", Handler: onboard, IgnoreAuthors: ignoreAuthors, Logger: logs.logger()},
		{Name: "role-defaults", Handler: roleDefaults, IgnoreAuthors: ignoreAuthors, Logger: logs.logger()},
	}

	// Jane, a person, works in Peerdom.
	jane := s.ClientWithKey(janeKey)
	ctx := context.Background()
	ada, err := jane.Peers().Create(ctx, peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	scribe, err := jane.Roles().Create(ctx, peerdomapi.Role{Name: "Scribe", MapID: s.LiveMap().ID})
	if err != nil {
		t.Fatal(err)
	}
	done, err := jane.Roles().Create(ctx, peerdomapi.Role{Name: "Archivist", MapID: s.LiveMap().ID, CustomFields: []peerdomapi.CustomField{
		{Name: "Purpose", Values: []string{"Keep records"}}, {Name: "Accountabilities", Values: []string{"Archive"}}}})
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
	sc, _ := s.Role(scribe.ID)
	if v, _ := peerdomapi.FieldValues(sc.CustomFields, "Purpose"); !slices.Equal(v, []string{"To be defined"}) {
		t.Fatalf("Scribe fields = %+v", sc.CustomFields)
	}
	ar, _ := s.Role(done.ID)
	if v, _ := peerdomapi.FieldValues(ar.CustomFields, "Purpose"); !slices.Equal(v, []string{"Keep records"}) {
		t.Fatalf("Archivist fields = %+v", ar.CustomFields)
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
		t.Fatalf("webhooks = %d (bot %d), want 6 (bot 3)", len(hooks), botHooks)
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
