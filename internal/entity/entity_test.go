package entity_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/entity"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// TestAPIFieldsUseTheMessagesNames holds the mapping table to the field names Peerdom's
// messages use: every field name of the corpus (and of the parser's peer cases) that
// names an API attribute is spelt in the table exactly as in the messages.
func TestAPIFieldsUseTheMessagesNames(t *testing.T) {
	names := map[string]bool{"First name": true, "Last name": true} // parse_test's peer messages
	for _, c := range corpus.Load(t) {
		w, err := peerdom.DecodeWebhook(c.Body)
		if err != nil {
			t.Fatal(err)
		}
		d := peerdom.Parse(w.Text)
		for _, f := range d.Fields {
			names[f.Name] = true
		}
		for _, f := range d.ChangedFields {
			names[f] = true
		}
	}
	table := map[string]string{} // lower-cased, spaces removed → as the table spells it
	for _, e := range []peerdom.Entity{peerdom.EntityRole, peerdom.EntityGroup, peerdom.EntityPeer} {
		for _, f := range entity.APIFields(e) {
			table[squash(f.Field)] = f.Field
		}
	}
	matched := 0
	for name := range names {
		if spelt, ok := table[squash(name)]; ok {
			matched++
			if spelt != name {
				t.Errorf("the table names %q, the messages %q", spelt, name)
			}
		}
	}
	// Name, Purpose, Nickname, First name, Last name at least.
	if matched < 5 {
		t.Errorf("only %d message field names are in the table; the corpus has more", matched)
	}
}

func squash(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "") }

func object(t *testing.T, e peerdom.Entity, js string) *entity.Object {
	t.Helper()
	names := map[string]string{"p1": "Ada Lovelace", "p2": "Bob Smith", "c1": "Ops"}
	o, err := entity.ObjectOf(e, json.RawMessage(js), func(id string) string { return names[id] })
	if err != nil {
		t.Fatal(err)
	}
	return &o
}

func TestReconcileDetailUpdated(t *testing.T) {
	before := object(t, peerdom.EntityRole, `{"id":"r1","name":"Engineer","parentId":"c1","color":"#fff",
		"customFields":[{"name":"Skills","values":["Go","Java"],"definition":{"multiEntry":true}},{"name":"Purpose","values":["Build"]}],
		"holders":[{"peerId":"p1"}]}`)
	after := object(t, peerdom.EntityRole, `{"id":"r1","name":"Senior Engineer","parentId":"c1","color":"#fff",
		"customFields":[{"name":"Skills","values":["Go","Rust"],"definition":{"multiEntry":true}},{"name":"Purpose","values":[]}],
		"holders":[{"peerId":"p2"},{"peerId":"p1"}]}`)
	at := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	d, ok := entity.ReconcileDetail("id-1", at, "acme", entity.Difference{Before: before, After: after})
	if !ok {
		t.Fatal("no difference found")
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"id-1","origin":"reconcile","receivedAt":"2026-12-01T01:00:00Z","entity":"role","action":"updated","name":"Senior Engineer","organization":"acme","entityId":"r1","fields":{},` +
		`"changes":[{"field":"Name","old":"Engineer","new":"Senior Engineer"},{"field":"Purpose","old":"Build","new":""},{"field":"Skills","added":["Rust"],"removed":["Java"]},{"field":"Holders","added":["Bob Smith"],"removed":[]}],` +
		`"changedFields":["Name","Purpose","Skills","Holders"]}`
	if string(b) != want {
		t.Errorf("detail =\n%s\nwant\n%s", b, want)
	}
	if d.DetailType() != "Role Updated" {
		t.Errorf("detail-type = %q", d.DetailType())
	}
	// The same states, the other way: the list changes swap sides.
	back, _ := entity.ReconcileDetail("id-2", at, "acme", entity.Difference{Before: after, After: before})
	if got := back.Changes[3]; got.Field != "Holders" || len(got.Removed) != 1 || got.Removed[0] != "Bob Smith" || len(got.Added) != 0 {
		t.Errorf("reverse holders change = %+v", got)
	}
}

func TestReconcileDetailNoDifference(t *testing.T) {
	a := object(t, peerdom.EntityPeer, `{"id":"p1","firstName":"Ada","lastName":"Lovelace","customFields":[{"name":"Languages","values":["en","fr"]}],"avatarUrl":"x"}`)
	// Order of list items and attributes outside the table (avatarUrl) are no change.
	b := object(t, peerdom.EntityPeer, `{"id":"p1","firstName":"Ada","lastName":"Lovelace","customFields":[{"name":"Languages","values":["fr","en"]}],"avatarUrl":"y"}`)
	if d, ok := entity.ReconcileDetail("x", time.Now(), "", entity.Difference{Before: a, After: b}); ok {
		t.Errorf("found a difference: %+v", d.Changes)
	}
}

func TestReconcileDetailCreatedAndDeleted(t *testing.T) {
	p := object(t, peerdom.EntityPeer, `{"id":"p1","firstName":"Ada","lastName":"Lovelace","nickName":"","customFields":[{"name":"Office","values":["Zurich"]}]}`)
	for _, tc := range []struct {
		diff entity.Difference
		want string
	}{
		{entity.Difference{After: p}, "Peer Created"},
		{entity.Difference{Before: p}, "Peer Deleted"},
	} {
		d, ok := entity.ReconcileDetail("id", time.Now(), "acme", tc.diff)
		if !ok || d.DetailType() != tc.want {
			t.Fatalf("%s: detail-type %q, %v", tc.want, d.DetailType(), ok)
		}
		if d.Name != "Ada Lovelace" || d.EntityID != "p1" {
			t.Errorf("%s: name %q, entityId %q", tc.want, d.Name, d.EntityID)
		}
		want := map[string]string{"First name": "Ada", "Last name": "Lovelace", "Office": "Zurich"}
		if got := d.Fields.Map(); len(got) != len(want) || got["First name"] != "Ada" || got["Office"] != "Zurich" || got["Last name"] != "Lovelace" {
			t.Errorf("%s: fields = %v, want %v", tc.want, got, want)
		}
		b, _ := json.Marshal(d)
		if strings.Contains(string(b), `"text"`) || !strings.Contains(string(b), `"origin":"reconcile"`) {
			t.Errorf("%s: JSON %s: want origin and no text", tc.want, b)
		}
	}
}

// TestWebhookDetailHasNoOrigin: the key is absent on events from webhooks, and text stays.
func TestWebhookDetailHasNoOrigin(t *testing.T) {
	b, err := json.Marshal(peerdom.Parse("Role created\n**Name:** X"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "origin") || !strings.Contains(string(b), `"text":"Role created`) {
		t.Errorf("webhook detail JSON = %s", b)
	}
}

func TestDifferenceIDIsStable(t *testing.T) {
	a := entity.DifferenceID(peerdom.EntityRole, "r1", "h1", "h2")
	if a != entity.DifferenceID(peerdom.EntityRole, "r1", "h1", "h2") {
		t.Error("the same difference has two ids")
	}
	for _, other := range []string{
		entity.DifferenceID(peerdom.EntityRole, "r1", "h2", "h1"),
		entity.DifferenceID(peerdom.EntityGroup, "r1", "h1", "h2"),
		entity.DifferenceID(peerdom.EntityRole, "r2", "h1", "h2"),
	} {
		if other == a {
			t.Error("two differences share an id")
		}
	}
}
