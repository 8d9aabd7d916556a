package stackview

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The message bodies a tail's queue receives, and what each decodes to.
func TestDecodeEvent(t *testing.T) {
	at := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, body   string
		check        func(Event) bool
		wantErr      string
		wantHeadingS string
	}{
		{name: "a webhook's event, replayed",
			body: `{"version":"0","id":"e1","detail-type":"Peer Created","source":"peerdom","time":"2026-12-07T22:59:00Z","replay-name":"r1",` +
				`"detail":{"id":"0123456789abcdef","entity":"peer","action":"created","name":"Ada Lovelace","author":{"email":"ops@acme.example"},"fields":{"First name":"Ada"},"changes":[],"changedFields":[],"text":"**[Peer](u)** was created"}}`,
			check: func(e Event) bool {
				return e.ID == "e1" && e.ReplayName == "r1" && e.Detail.Entity == peerdom.EntityPeer && e.Detail.Fields.Get("First name") == "Ada" &&
					e.Time.Equal(time.Date(2026, 12, 7, 22, 59, 0, 0, time.UTC)) && e.TailedAt.Equal(at)
			},
			wantHeadingS: `● Peer Created         "Ada Lovelace" by ops@acme.example  [delivery 01234567]`},
		{name: "an enrich snapshot",
			body: `{"id":"e2","detail-type":"Role Snapshot","source":"peerdom","detail":{"id":"fedcba9876543210","causedBy":"0123","causeType":"Role Updated","entity":"role","entityId":"r","object":{"name":"Scribe"}}}`,
			check: func(e Event) bool {
				return e.Snapshot != nil && e.Snapshot.CausedBy == "0123" && string(e.Snapshot.Object) == `{"name":"Scribe"}`
			},
			wantHeadingS: `● Role Snapshot         [delivery fedcba98]`},
		{name: "another source's event",
			body:    `{"id":"e3","detail-type":"Invoice Paid","source":"billing","detail":{"amount":3}}`,
			wantErr: `detail-type "Invoice Paid" is not one of peerbridge's events`},
		{name: "a contract type with a broken detail",
			body:    `{"id":"e4","detail-type":"Role Created","source":"peerdom","detail":{"entity":"planet","text":"x"}}`,
			wantErr: `unknown entity "planet"`},
		{name: "no detail", body: `{"id":"e5","detail-type":"Role Created"}`, wantErr: "no detail"},
		{name: "not JSON", body: `hello`, wantErr: "not JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := decodeEvent(c.body, at)
			if c.wantErr == "" && e.DecodeError != "" || !strings.Contains(e.DecodeError, c.wantErr) {
				t.Errorf("decode error %q, want %q", e.DecodeError, c.wantErr)
			}
			if c.check != nil && !c.check(e) {
				t.Errorf("decoded %+v", e)
			}
			if c.wantHeadingS != "" && e.Heading() != c.wantHeadingS {
				t.Errorf("heading %q, want %q", e.Heading(), c.wantHeadingS)
			}
			// Every event, decodable or not, marshals to JSON with its raw body inside.
			b, err := json.Marshal(e)
			if err != nil || !json.Valid(e.Raw) {
				t.Fatalf("marshal: %v (raw %s)", err, e.Raw)
			}
			var back struct{ Raw json.RawMessage }
			if json.Unmarshal(b, &back); len(back.Raw) == 0 {
				t.Errorf("no raw in %s", b)
			}
		})
	}
}
