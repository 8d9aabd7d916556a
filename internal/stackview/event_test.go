package stackview

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The message bodies a tail's queue receives, what each decodes to, and the records
// the console reads of it.
func TestDecodeEventAndItsRecords(t *testing.T) {
	routes := []route{{name: "onboard-rule", pattern: `{"detail-type":["Peer Created"]}`, targets: []string{"onboard", "audit"}},
		{name: "chat-rule", pattern: `{"source":["peerdom"]}`}}
	for _, c := range []struct {
		name, body string
		check      func(busEvent) bool
		wantErr    string
		published  observe.Published // its Event and RoutedTo are checked apart
		delivery   string
	}{
		{name: "a webhook's event, replayed",
			body: `{"version":"0","id":"e1","detail-type":"Peer Created","source":"peerdom","time":"2026-12-07T22:59:00Z","replay-name":"r1",` +
				`"detail":{"id":"0123456789abcdef","entity":"peer","action":"created","entityId":"p1","name":"Ada Lovelace","author":{"email":"ops@acme.example"},"fields":{"First name":"Ada"},"changes":[],"changedFields":[],"text":"**[Peer](u)** was created"}}`,
			check: func(e busEvent) bool {
				return e.id == "e1" && e.detail != nil && e.detail.Entity == peerdom.EntityPeer && e.detail.Fields.Get("First name") == "Ada"
			},
			published: observe.Published{DetailType: "Peer Created", Source: "peerdom", EntityID: "p1", Author: "ops@acme.example", Text: "**[Peer](u)** was created"},
			delivery:  "0123456789abcdef"},
		{name: "an unrecognized message",
			body:      `{"id":"e6","detail-type":"Unrecognized Message","source":"peerdom","detail":{"id":"abc","text":"Hello from Peerdom!","fields":{},"changes":[],"changedFields":[]}}`,
			published: observe.Published{DetailType: "Unrecognized Message", Source: "peerdom", Unrecognized: true, Text: "Hello from Peerdom!"},
			delivery:  "abc"},
		{name: "an enrich snapshot",
			body: `{"id":"e2","detail-type":"Role Snapshot","source":"peerdom","detail":{"id":"fedcba9876543210","causedBy":"0123","causeType":"Role Updated","entity":"role","entityId":"r","object":{"name":"Scribe"}}}`,
			check: func(e busEvent) bool {
				return e.snapshot != nil && e.snapshot.CausedBy == "0123" && string(e.snapshot.Object) == `{"name":"Scribe"}`
			},
			published: observe.Published{DetailType: "Role Snapshot", Source: "peerdom", EntityID: "r"},
			delivery:  "fedcba9876543210"},
		{name: "another source's event",
			body:      `{"id":"e3","detail-type":"Invoice Paid","source":"billing","detail":{"amount":3}}`,
			wantErr:   `detail-type "Invoice Paid" is not one of peerbridge's events`,
			published: observe.Published{DetailType: "Invoice Paid", Source: "billing"}},
		{name: "a contract type with a broken detail",
			body:      `{"id":"e4","detail-type":"Role Created","source":"peerdom","detail":{"entity":"planet","text":"x"}}`,
			wantErr:   `unknown entity "planet"`,
			published: observe.Published{DetailType: "Role Created", Source: "peerdom"}},
		{name: "no detail", body: `{"id":"e5","detail-type":"Role Created"}`, wantErr: "no detail",
			published: observe.Published{DetailType: "Role Created"}},
		{name: "not JSON", body: `hello`, wantErr: "not JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := decodeEvent(c.body)
			if c.wantErr == "" && e.decodeError != "" || !strings.Contains(e.decodeError, c.wantErr) {
				t.Errorf("decode error %q, want %q", e.decodeError, c.wantErr)
			}
			if c.check != nil && !c.check(e) {
				t.Errorf("decoded %+v", e)
			}
			recs := e.records(routes)
			if len(recs) != 1+3 {
				t.Fatalf("%d records, want the event and three routes: %+v", len(recs), recs)
			}
			p := recs[0].Published
			if recs[0].Kind != observe.KindPublished || p == nil || recs[0].DeliveryID != c.delivery {
				t.Fatalf("first record %+v", recs[0])
			}
			if !json.Valid(p.Event) || (c.wantErr != "not JSON" && string(p.Event) != c.body) {
				t.Errorf("event %s", p.Event)
			}
			if strings.Join(p.RoutedTo, ",") != "onboard,audit" {
				t.Errorf("routed to %v", p.RoutedTo)
			}
			got := *p
			got.Event, got.RoutedTo = nil, nil
			if b, w := mustJSON(got), mustJSON(c.published); b != w {
				t.Errorf("published %s, want %s", b, w)
			}
			for i, want := range []observe.Routed{
				{Rule: "onboard-rule", Function: "onboard", Pattern: routes[0].pattern, Delivered: true},
				{Rule: "onboard-rule", Function: "audit", Pattern: routes[0].pattern, Delivered: true},
				{Rule: "chat-rule", Pattern: routes[1].pattern}, // no target: matched, sent nowhere
			} {
				r := recs[1+i]
				if r.Kind != observe.KindRouted || r.Routed == nil || *r.Routed != want || r.EventID != recs[0].EventID || r.DeliveryID != c.delivery {
					t.Errorf("route record %d: %+v %+v", i, r, r.Routed)
				}
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestTargetName(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:lambda:us-east-1:123456789012:function:pb-onboard-peer":      "pb-onboard-peer",
		"arn:aws:lambda:us-east-1:123456789012:function:pb-onboard-peer:live": "pb-onboard-peer",
		"arn:aws:sqs:us-east-1:123456789012:pb-chat":                          "pb-chat",
		"arn:aws:events:us-east-1:123456789012:api-destination/chat/abc":      "chat",
		"arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/pb":        "/aws/events/pb",
	} {
		if got := targetName(arn); got != want {
			t.Errorf("targetName(%s) = %q, want %q", arn, got, want)
		}
	}
}
