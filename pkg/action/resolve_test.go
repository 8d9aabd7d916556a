package action_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

func TestResolve(t *testing.T) {
	s := newPeerdom(t, nil)
	api := fastClient(s)
	ctx := context.Background()
	ops := s.AddRole(peerdomapi.Role{Name: "Ops", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Run"}}}})
	s.AddRole(peerdomapi.Role{Name: "Scribe"})
	s.AddRole(peerdomapi.Role{Name: "scribe "})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})

	r, err := action.ResolveRole(ctx, api, peerdom.Detail{Entity: "role", EntityID: ops.ID})
	if err != nil || r.ID != ops.ID || len(r.CustomFields) != 1 {
		t.Fatalf("by id: %+v, %v", r, err)
	}
	r, err = action.ResolveRole(ctx, api, peerdom.Detail{Entity: "role", Name: " ops"})
	if err != nil || r.ID != ops.ID || len(r.CustomFields) != 1 {
		t.Fatalf("by name: %+v, %v", r, err)
	}
	p, err := action.ResolvePeer(ctx, api, peerdom.Detail{Entity: "peer", Name: "Ada  Lovelace"})
	if err != nil || p.ID != ada.ID {
		t.Fatalf("peer by name: %+v, %v", p, err)
	}

	_, err = action.ResolveRole(ctx, api, peerdom.Detail{Entity: "role", Name: "Scribe"})
	var amb *action.AmbiguousError
	if !errors.As(err, &amb) || len(amb.IDs) != 2 || !strings.Contains(err.Error(), "refusing to guess") {
		t.Fatalf("ambiguous: %v", err)
	}
	if _, err := action.ResolveRole(ctx, api, peerdom.Detail{Entity: "role", Name: "Nobody"}); !errors.Is(err, peerdomapi.ErrNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := action.ResolveRole(ctx, api, peerdom.Detail{Entity: "role", EntityID: "00000000-0000-4000-8000-000000000000"}); !errors.Is(err, peerdomapi.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := action.ResolveRole(ctx, api, peerdom.Detail{Entity: "role"}); !errors.Is(err, action.ErrNoEntity) {
		t.Fatalf("nothing to go by: %v", err)
	}
	if _, err := action.ResolveRole(ctx, api, peerdom.Detail{Entity: "peer", EntityID: ada.ID}); err == nil {
		t.Fatal("a peer event resolved as a role")
	}
	if id, err := action.ResolveID(ctx, api, peerdom.Detail{Entity: "peer", Name: "Ada Lovelace"}); err != nil || id != ada.ID {
		t.Fatalf("ResolveID: %q, %v", id, err)
	}
}
