package action_test

import (
	"context"
	"slices"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

func TestRoleDefaults(t *testing.T) {
	s := newPeerdom(t, nil)
	defaults, err := action.ParseFieldDefaults(`{"Purpose": "To be defined", "Skills": ["Listening", "Writing"], "Review": "yearly"}`)
	if err != nil {
		t.Fatal(err)
	}
	h, err := action.NewRoleDefaults(fastClient(s), defaults)
	if err != nil {
		t.Fatal(err)
	}
	r := &action.Runner{Name: "role-defaults", Handler: h}
	ctx := context.Background()

	// Purpose set, Skills present but blank, Review absent.
	scribe := s.AddRole(peerdomapi.Role{Name: "Scribe", CustomFields: []peerdomapi.CustomField{
		{Name: "purpose", Values: []string{"Take notes"}}, {Name: "Skills", Values: []string{" "}}, {Name: "Other", Values: []string{"x"}}}})
	ev := busEvent(t, "Role Created", peerdom.Detail{Entity: "role", Action: "created", EntityID: scribe.ID, Name: "Scribe"})
	if err := r.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Role(scribe.ID)
	want := []peerdomapi.CustomField{
		{Name: "purpose", Values: []string{"Take notes"}},
		{Name: "Skills", Values: []string{"Listening", "Writing"}},
		{Name: "Other", Values: []string{"x"}},
		{Name: "Review", Values: []string{"yearly"}},
	}
	if !slices.EqualFunc(got.CustomFields, want, func(a, b peerdomapi.CustomField) bool { return a.Name == b.Name && slices.Equal(a.Values, b.Values) }) {
		t.Fatalf("fields = %+v", got.CustomFields)
	}
	if err := r.Run(ctx, ev); err != nil { // again: already filled
		t.Fatal(err)
	}
	if w := writesBy(s, botEmail); !slices.Equal(w, []string{"PUT /roles/" + scribe.ID}) {
		t.Fatalf("writes = %v", w)
	}

	// A role that has every field is left alone.
	full := s.AddRole(peerdomapi.Role{Name: "Full", CustomFields: []peerdomapi.CustomField{
		{Name: "Purpose", Values: []string{"p"}}, {Name: "Skills", Values: []string{"s"}}, {Name: "Review", Values: []string{"r"}}}})
	if err := r.Run(ctx, busEvent(t, "Role Created", peerdom.Detail{Entity: "role", Action: "created", EntityID: full.ID})); err != nil {
		t.Fatal(err)
	}
	// Only Role Created is acted on.
	bare := s.AddRole(peerdomapi.Role{Name: "Bare"})
	if err := r.Run(ctx, busEvent(t, "Role Updated", peerdom.Detail{Entity: "role", Action: "updated", EntityID: bare.ID})); err != nil {
		t.Fatal(err)
	}
	if n := len(s.WritesBy(botEmail)); n != 1 {
		t.Fatalf("writes = %d, want still 1", n)
	}
	if _, err := action.NewRoleDefaults(fastClient(s), nil); err == nil {
		t.Fatal("no defaults accepted")
	}
}
