package peerdom

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDetailTypes(t *testing.T) {
	want := []string{"Role Created", "Role Updated", "Role Deleted", "Group Created", "Group Updated",
		"Group Deleted", "Peer Created", "Peer Updated", "Peer Deleted", "Unrecognized Message"}
	if got := DetailTypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("DetailTypes() = %q, want %q", got, want)
	}
	if got := DetailType(EntityRole, ""); got != DetailTypeUnrecognized {
		t.Errorf("DetailType(role, \"\") = %q", got)
	}
}

// TestDetailJSONKeys checks which keys a detail's JSON has (docs/contract.md): optional
// keys only when known, the collections always, arrays never null.
func TestDetailJSONKeys(t *testing.T) {
	b, err := json.Marshal(Detail{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"fields":{},"changes":[],"changedFields":[],"text":"x"}`; got != want {
		t.Errorf("zero detail = %s, want %s", got, want)
	}
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	full := Detail{ID: "d1", ReceivedAt: at, Entity: EntityPeer, Action: ActionUpdated, Name: "Ada", URL: "u",
		Organization: "o", EntityID: "e", Author: &Author{Email: "a@b.c"}, Fields: Fields{{"Map", "M"}},
		Changes:       []Change{{Field: "Skills", IsList: true, Added: []string{"Go"}}, {Field: "Name", Old: "", New: "Ada"}},
		ChangedFields: []string{"Skills", "Name"}, Text: "t"}
	b, err = json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"d1","receivedAt":"2026-11-28T10:00:00Z","entity":"peer","action":"updated","name":"Ada","url":"u",` +
		`"organization":"o","entityId":"e","author":{"email":"a@b.c"},"fields":{"Map":"M"},` +
		`"changes":[{"field":"Skills","added":["Go"],"removed":[]},{"field":"Name","old":"","new":"Ada"}],` +
		`"changedFields":["Skills","Name"],"text":"t"}`
	if string(b) != want {
		t.Errorf("full detail =\n%s\nwant\n%s", b, want)
	}
	back, err := DecodeDetail(b)
	if err != nil {
		t.Fatal(err)
	}
	full.Changes[0].Removed = []string{} // decoding gives the empty list the JSON holds
	if !reflect.DeepEqual(back, full) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, full)
	}
}

func TestDecodeDetailRejects(t *testing.T) {
	for _, in := range []string{`[]`, `{"entity":"team"}`, `{"action":"archived"}`, `{"changes":[1]}`} {
		if _, err := DecodeDetail([]byte(in)); err == nil {
			t.Errorf("DecodeDetail(%s) accepted", in)
		}
	}
}

func TestNewEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	d := NewDelivery("", at, "Role was created\n**Name:** Ops", Sender{Address: "1.2.3.4"})
	if len(d.ID) != 36 || d.ID[14] != '4' {
		t.Errorf("generated id %q is not a v4 UUID", d.ID)
	}
	if other := NewDeliveryID(); other == d.ID {
		t.Errorf("two generated ids are equal: %s", other)
	}
	if d.ReceivedAt.Location() != time.UTC {
		t.Errorf("receivedAt not in UTC: %v", d.ReceivedAt)
	}
	ev := NewEvent("", d)
	if ev.Source != DefaultSource || ev.DetailType != "Role Created" || ev.Detail.ID != d.ID ||
		!ev.Detail.ReceivedAt.Equal(at) || !ev.Time.Equal(at) || ev.Detail.Name != "Ops" {
		t.Errorf("NewEvent = %+v", ev)
	}
	if ev := NewEvent("acme.peerdom", d); ev.Source != "acme.peerdom" {
		t.Errorf("source = %q", ev.Source)
	}
}

func TestDecodeDelivery(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good := NewDelivery("req-1", at, "Role was created", Sender{Address: "1.2.3.4", UserAgent: "Peerdom"})
	b, _ := json.Marshal(good)
	got, err := DecodeDelivery(b)
	if err != nil || !reflect.DeepEqual(got, good) {
		t.Fatalf("DecodeDelivery(good) = %+v, %v", got, err)
	}
	bad := map[string]string{
		"not json":    `{`,
		"old version": `{"version":0,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}`,
		"no id":       `{"version":1,"receivedAt":"2026-01-01T00:00:00Z","text":"x"}`,
		"no time":     `{"version":1,"id":"a","text":"x"}`,
		"no text":     `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z"}`,
	}
	for name, in := range bad {
		if _, err := DecodeDelivery([]byte(in)); !errors.Is(err, ErrInvalidDelivery) || !strings.Contains(err.Error(), "envelope") {
			t.Errorf("%s: err = %v, want ErrInvalidDelivery", name, err)
		}
	}
}
