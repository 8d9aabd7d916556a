package action_test

import (
	"context"
	"testing"

	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/entity"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestEnrichKeepsTheState: with a State, enrich records a created entity as read, an
// update only in the fields the webhook reported, a deletion as a tombstone, and nothing
// for an update of an entity the state does not know (reconciliation reports it created).
func TestEnrichKeepsTheState(t *testing.T) {
	s := newPeerdomUnder(t, peerdomtest.Alternative{Apply: func(*peerdomtest.Config) {}}, nil)
	st := memstate.New()
	h, err := action.NewEnrich(fastClient(s), membus.New(), "peerdom-test")
	if err != nil {
		t.Fatal(err)
	}
	h.State = state.Webhook{Store: st}
	r := &action.Runner{Name: "enrich", Handler: h}
	ctx := context.Background()
	api := fastClient(s)
	role := s.AddRole(peerdomapi.Role{Name: "Scribe", Color: "#00ff00"})
	run := func(detailType string, d peerdom.Detail) {
		t.Helper()
		if err := r.Run(ctx, busEvent(t, detailType, d)); err != nil {
			t.Fatal(err)
		}
	}
	object := func() *entity.Object {
		t.Helper()
		rec, ok, _ := st.Get(ctx, peerdom.EntityRole, role.ID)
		if !ok || rec.Deleted {
			t.Fatalf("no live record: %+v %v", rec, ok)
		}
		o, err := entity.ObjectOf(peerdom.EntityRole, rec.Object, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &o
	}

	run("Role Updated", peerdom.Detail{Entity: "role", Action: "updated", EntityID: role.ID, ChangedFields: []string{"Name"}})
	if _, ok, _ := st.Get(ctx, peerdom.EntityRole, role.ID); ok {
		t.Fatal("an update of an unknown entity was recorded")
	}
	run("Role Created", peerdom.Detail{Entity: "role", Action: "created", EntityID: role.ID})
	if o := object(); o.Name != "Scribe" {
		t.Fatalf("created: %+v", o)
	}
	// Two changes; the webhook reports only the name.
	if _, err := api.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{Name: "Note taker", Color: "#ff0000"}); err != nil {
		t.Fatal(err)
	}
	run("Role Updated", peerdom.Detail{Entity: "role", Action: "updated", EntityID: role.ID, ChangedFields: []string{"Name"}})
	o := object()
	now, err := api.Roles().GetRaw(ctx, role.ID, peerdomapi.Options{CustomFields: true})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := entity.ObjectOf(peerdom.EntityRole, now, nil)
	changes := entity.Changes(o, &after)
	if o.Name != "Note taker" || len(changes) != 1 || changes[0].Field != "Color" {
		t.Errorf("recorded %q; left for reconciliation %+v, want the color only", o.Name, changes)
	}
	run("Role Deleted", peerdom.Detail{Entity: "role", Action: "deleted", EntityID: role.ID})
	if rec, _, _ := st.Get(ctx, peerdom.EntityRole, role.ID); !rec.Deleted {
		t.Errorf("deleted: %+v", rec)
	}
}

// TestMergeReportedAliases: the messages' names for what the table names otherwise
// (a peer's Name, a role's Peers) take the attributes they stand for.
func TestMergeReportedAliases(t *testing.T) {
	stored := []byte(`{"id":"p","firstName":"Ada","lastName":"L","nickName":"A","customFields":[{"name":"Office","values":["Zurich"]}]}`)
	read := []byte(`{"id":"p","firstName":"Ada","lastName":"Lovelace","nickName":"Countess","customFields":[{"name":"Office","values":["Geneva"]}]}`)
	merged, err := entity.MergeReported(peerdom.EntityPeer, stored, read, []string{"Name", "Office"})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := entity.ObjectOf(peerdom.EntityPeer, merged, nil)
	got := map[string]string{}
	for _, f := range o.Fields {
		if len(f.Values) > 0 {
			got[f.Name] = f.Values[0]
		}
	}
	if got["Last name"] != "Lovelace" || got["Office"] != "Geneva" || got["Nickname"] != "A" {
		t.Errorf("merged %s", merged)
	}
	role, err := entity.MergeReported(peerdom.EntityRole, []byte(`{"id":"r","name":"X","holders":[]}`),
		[]byte(`{"id":"r","name":"Y","holders":[{"peerId":"p"}]}`), []string{"Peers"})
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := entity.ObjectOf(peerdom.EntityRole, role, nil); o.Name != "X" || o.Fields[len(o.Fields)-1].Values[0] != "p" {
		t.Errorf("merged %s", role)
	}
}
