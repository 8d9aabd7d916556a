package reconcile_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestReconcileUnderEveryAlternative: the same changes, made with no webhook delivered,
// give the same events under every unverified behaviour of the API — paging ignored,
// circles at /groups only, a moved API, empty or JSON answers… A peer who leaves is
// an update of its Left field (not a deletion), one who returns another; a peer found
// deleted before and listed again is reported created.
func TestReconcileUnderEveryAlternative(t *testing.T) {
	for _, alt := range peerdomtest.Alternatives() {
		t.Run(alt.Name, func(t *testing.T) { testReconcileUnder(t, alt) })
	}
}

func testReconcileUnder(t *testing.T, alt peerdomtest.Alternative) {
	cfg := peerdomtest.Config{}
	alt.Apply(&cfg)
	srv := peerdomtest.NewServer(cfg)
	defer srv.Close()
	ctx := context.Background()
	ops := srv.AddGroup(peerdomapi.Group{Name: "Ops"})
	old := srv.AddGroup(peerdomapi.Group{Name: "Old"})
	role := srv.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: ops.ID})
	ada := srv.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	bob := srv.AddPeer(peerdomapi.Peer{FirstName: "Bob", LastName: "Byte"})
	gone := srv.AddPeer(peerdomapi.Peer{FirstName: "Former", LastName: "Peer", LeftAt: "2020-01-01T00:00:00Z"})

	b := &recorder{}
	st := memstate.New()
	rc := &reconcile.Reconciler{API: srv.Client(), State: st, Bus: b, Source: "peerdom"}
	rep, err := rc.Run(ctx)
	if err != nil || !rep.Baseline {
		t.Fatalf("baseline: %+v %v", rep, err)
	}
	wantGroups := 2
	if _, ok := srv.RootCircle(); ok {
		wantGroups = 3
	}
	if rep.Listed["group"] != wantGroups || rep.Listed["role"] != 1 || rep.Listed["peer"] != 3 {
		t.Fatalf("listed %v, want %d groups, 1 role, 3 peers (a former one included)", rep.Listed, wantGroups)
	}

	api := srv.Client()
	grace, err := api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Grace", LastName: "Hopper"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{Name: "Minutes", ParentID: ops.ID}); err != nil {
		t.Fatal(err)
	}
	if err := api.AssignPeer(ctx, role.ID, peerdomapi.Assignment{PeerID: ada.ID}); err != nil {
		t.Fatal(err)
	}
	if err := api.Groups().Delete(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	srv.Leave(bob.ID, time.Now().Add(-time.Minute))
	if n := len(srv.Writes()); n != 4 {
		t.Fatalf("writes = %d, want 4", n)
	}

	got := runEvents(t, rc, b)
	want := []string{
		"Group Deleted " + old.ID + " []",
		"Peer Created " + grace.ID + " []",
		"Peer Updated " + bob.ID + " [Left]",
		"Role Updated " + role.ID + " [Name Holders]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := runEvents(t, rc, b); len(got) != 0 {
		t.Fatalf("a second run found %v", got)
	}

	// Bob returns: his Left field is cleared.
	srv.Return(bob.ID)
	if got := runEvents(t, rc, b); !slices.Equal(got, []string{"Peer Updated " + bob.ID + " [Left]"}) {
		t.Fatalf("return: %v", got)
	}
	// A peer reported deleted before (a tombstone older than the list) is listed again:
	// created, not skipped forever.
	if ok, err := st.Put(ctx, state.Tombstone(peerdom.EntityPeer, gone.ID, time.Now(), state.FromReconcile)); err != nil || !ok {
		t.Fatalf("tombstone not stored: %v", err)
	}
	if got := runEvents(t, rc, b); !slices.Equal(got, []string{"Peer Created " + gone.ID + " []"}) {
		t.Fatalf("back after a tombstone: %v", got)
	}
	if got := runEvents(t, rc, b); len(got) != 0 {
		t.Fatalf("then: %v", got)
	}
}

// runEvents runs once and returns the events it put on the bus, as "type id
// [changedFields]", sorted; each event id must be new.
func runEvents(t *testing.T, rc *reconcile.Reconciler, b *recorder) []string {
	t.Helper()
	before := len(b.events(t))
	rep, err := rc.Run(context.Background())
	if err != nil || rep.Failed != 0 || rep.Incomplete {
		t.Fatalf("run: %+v %v", rep, err)
	}
	all := b.events(t)
	seen := map[string]bool{}
	for _, ev := range all[:before] {
		seen[ev.Detail.ID] = true
	}
	var out []string
	for _, ev := range all[before:] {
		if seen[ev.Detail.ID] {
			t.Errorf("event id %s published twice", ev.Detail.ID)
		}
		seen[ev.Detail.ID] = true
		out = append(out, ev.DetailType+" "+ev.Detail.EntityID+" "+strings.Join(fmtFields(ev.Detail.ChangedFields), " "))
	}
	slices.Sort(out)
	return out
}

func fmtFields(f []string) []string { return []string{"[" + strings.Join(f, " ") + "]"} }
