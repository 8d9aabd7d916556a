package busentry_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestEntryIsTheContractEvent(t *testing.T) {
	received := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	text := "**[Role](https://app.peerdom.org/acme/roles/1)** was created\n\n**Name:** Ops <lead> & \"co\""
	d := peerdom.NewDelivery("d-1", received, text, peerdom.Sender{})
	e, err := busentry.FromDelivery("", d)
	if err != nil {
		t.Fatal(err)
	}
	want, err := peerdom.NewEvent("", d).Detail.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if e.Source != peerdom.DefaultSource || e.DetailType != "Role Created" || !e.Time.Equal(received) || e.Detail != string(want) {
		t.Errorf("entry %+v\nwant detail %s", e, want)
	}
	// No HTML escaping: a '<' takes one byte of the bus's 256 KB, not six (\u003c).
	if !strings.Contains(e.Detail, `Ops <lead> & \"co\"`) {
		t.Errorf("detail is HTML-escaped: %s", e.Detail)
	}
	var back peerdom.Detail
	if err := json.Unmarshal([]byte(e.Detail), &back); err != nil || back.Fields.Get("Name") != `Ops <lead> & "co"` {
		t.Errorf("detail does not read back: %v %q", err, back.Fields.Get("Name"))
	}
	if other, _ := busentry.FromDelivery("custom.source", d); other.Source != "custom.source" || other.Size() != e.Size()+len("custom.source")-len(peerdom.DefaultSource) {
		t.Errorf("source: %+v", other)
	}
}

// TestReconcileEventsAreEncodedAsWebhookEvents: an event reconciliation finds is encoded
// by the same FromEvent, unescaped, its time and source kept.
func TestReconcileEventsAreEncodedAsWebhookEvents(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ev := peerdom.Event{Source: "peerdom", DetailType: "Role Created", Time: at,
		Detail: peerdom.Detail{ID: "r-1", Origin: peerdom.OriginReconcile, Entity: peerdom.EntityRole, Action: peerdom.ActionCreated,
			Name: "Ops <lead>", Fields: peerdom.Fields{{Name: "Name", Value: "Ops <lead>"}}}}
	e, err := busentry.FromEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ev.Detail.MarshalJSON()
	if e.Detail != string(want) || !strings.Contains(e.Detail, "Ops <lead>") || !e.Time.Equal(at) || e.Source != "peerdom" || e.DetailType != "Role Created" {
		t.Errorf("entry %+v", e)
	}
}
