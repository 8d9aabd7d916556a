package action_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestEnrichPublishesSnapshots(t *testing.T) {
	for _, alt := range peerdomtest.Alternatives() {
		t.Run(alt.Name, func(t *testing.T) { testEnrichPublishesSnapshots(t, alt) })
	}
}

func testEnrichPublishesSnapshots(t *testing.T, alt peerdomtest.Alternative) {
	s := newPeerdomUnder(t, alt, nil)
	b := membus.New()
	h, err := action.NewEnrich(fastClient(s), b, "peerdom-test")
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	h.Now = func() time.Time { return taken }
	r := &action.Runner{Name: "enrich", Handler: h}
	ctx := context.Background()

	role := s.AddRole(peerdomapi.Role{Name: "Scribe", Color: "#00ff00", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Notes"}}}})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	s.AddHolder(peerdomtest.Holder{RoleID: role.ID, PeerID: ada.ID})
	ev := busEvent(t, "Role Updated", peerdom.Detail{ID: "delivery-7", Entity: "role", Action: "updated", EntityID: role.ID, Organization: "acme"})
	if err := r.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// By name, for a peer.
	if err := r.Run(ctx, busEvent(t, "Peer Created", peerdom.Detail{ID: "delivery-8", Entity: "peer", Action: "created", Name: "Ada Lovelace"})); err != nil {
		t.Fatal(err)
	}
	got := b.Events()
	if len(got) != 2 {
		t.Fatalf("published %d events, want 2", len(got))
	}
	e := got[0].Entry
	if e.Source != "peerdom-test" || e.DetailType != "Role Snapshot" || !e.Time.Equal(taken) {
		t.Fatalf("entry = %+v", e)
	}
	var snap action.Snapshot
	if err := json.Unmarshal([]byte(e.Detail), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.CausedBy != "delivery-7" || snap.CauseType != "Role Updated" || snap.Entity != "role" || snap.EntityID != role.ID ||
		snap.Organization != "acme" || !snap.TakenAt.Equal(taken) || len(snap.ID) != 36 {
		t.Fatalf("snapshot = %+v", snap)
	}
	var obj peerdomapi.Role
	if err := json.Unmarshal(snap.Object, &obj); err != nil {
		t.Fatal(err)
	}
	// The holders are in the snapshot when the API's role read carries them.
	if purpose, _ := obj.Field("Purpose"); obj.Color != "#00ff00" || !slices.Equal(purpose, []string{"Notes"}) ||
		obj.HoldersShown() != !s.Config().RoleReadWithoutHolders || (obj.HoldersShown() && !obj.HeldBy(ada.ID)) {
		t.Fatalf("object = %s", snap.Object)
	}
	if got[1].Entry.DetailType != "Peer Snapshot" {
		t.Fatalf("second = %+v", got[1].Entry)
	}

	// A retry of the same event publishes a snapshot with the same id: consumers dedupe.
	if err := r.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	var again action.Snapshot
	_ = json.Unmarshal([]byte(b.Events()[2].Entry.Detail), &again)
	if again.ID != snap.ID {
		t.Fatalf("retry id %s != %s", again.ID, snap.ID)
	}

	// Deletes, snapshots and unrecognized messages are not enriched.
	for _, skip := range []struct {
		dt string
		d  peerdom.Detail
	}{
		{"Role Deleted", peerdom.Detail{Entity: "role", Action: "deleted", EntityID: role.ID}},
		{"Role Snapshot", peerdom.Detail{Entity: "role", EntityID: role.ID}},
		{"Unrecognized Message", peerdom.Detail{Text: "hello"}},
	} {
		if err := r.Run(ctx, busEvent(t, skip.dt, skip.d)); err != nil {
			t.Fatalf("%s: %v", skip.dt, err)
		}
	}
	if n := len(b.Events()); n != 3 {
		t.Fatalf("published %d events, want 3", n)
	}
	// A circle, by id and by name, wherever the API serves circles (/circles or /groups):
	// a snapshot each, never "gone".
	ops := s.AddGroup(peerdomapi.Group{Name: "Ops"})
	for _, d := range []peerdom.Detail{{Entity: "group", Action: "updated", EntityID: ops.ID}, {Entity: "group", Action: "created", Name: "Ops"}} {
		if err := r.Run(ctx, busEvent(t, peerdom.DetailType(d.Entity, d.Action), d)); err != nil {
			t.Fatalf("group %+v: %v", d, err)
		}
	}
	if n := len(b.Events()); n != 5 || b.Events()[3].Entry.DetailType != "Group Snapshot" || b.Events()[4].Entry.DetailType != "Group Snapshot" {
		t.Fatalf("published %d events, want 5 (two group snapshots)", n)
	}
	for _, req := range s.Requests() {
		if req.Method == "GET" && req.Path == "/roles/"+role.ID && req.Query != "with=customfields" {
			t.Errorf("fetched without custom fields: %+v", req)
		}
	}
}

func TestEnrichFailsWhenTheBusRefuses(t *testing.T) {
	s := newPeerdom(t, nil)
	b := membus.New()
	b.FailEntry = func(bus.Entry) (string, string) { return "ThrottlingException", "slow down" }
	h, _ := action.NewEnrich(fastClient(s), b, "")
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	err := h.Handle(context.Background(), action.Event{DetailType: "Role Created", Detail: peerdom.Detail{Entity: "role", Action: "created", EntityID: role.ID}})
	var ee *bus.EntryError
	if !errors.As(err, &ee) || ee.Code != "ThrottlingException" {
		t.Fatalf("err = %v", err)
	}
}

// A snapshot carries the API's object as it was sent: every documented shape, unknown
// keys and non-string values included, goes through unchanged.
func TestEnrichSnapshotIsLossless(t *testing.T) {
	for _, c := range []struct{ file, path, detailType, entity string }{
		{"peer-0.3.json", "/peers/", "Peer Updated", "peer"},
		{"peer-0.6.0.json", "/peers/", "Peer Updated", "peer"},
		{"role.json", "/roles/", "Role Updated", "role"},
	} {
		obj, err := os.ReadFile("../peerdomapi/testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		var id struct{ ID string }
		_ = json.Unmarshal(obj, &id)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != c.path+id.ID || r.URL.Query().Get("with") != "customfields" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(obj)
		}))
		api, _ := peerdomapi.New(srv.URL, "k")
		b := membus.New()
		h, _ := action.NewEnrich(api, b, "")
		err = h.Handle(context.Background(), action.Event{DetailType: c.detailType,
			Detail: peerdom.Detail{ID: "d1", Entity: peerdom.Entity(c.entity), Action: "updated", EntityID: id.ID}})
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		var snap action.Snapshot
		if err := json.Unmarshal([]byte(b.Events()[0].Entry.Detail), &snap); err != nil {
			t.Fatal(err)
		}
		var want, got bytes.Buffer
		_ = json.Compact(&want, obj)
		_ = json.Compact(&got, snap.Object)
		if got.String() != want.String() {
			t.Errorf("%s: snapshot object\n%s\nwant\n%s", c.file, got.String(), want.String())
		}
	}
}
