package action_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestRoleDefaults(t *testing.T) {
	for _, alt := range peerdomtest.Alternatives() {
		t.Run(alt.Name, func(t *testing.T) { testRoleDefaults(t, alt) })
	}
}

func testRoleDefaults(t *testing.T, alt peerdomtest.Alternative) {
	s := newPeerdomUnder(t, alt, nil)
	defaults, err := action.ParseFieldDefaults(`{"Purpose": "To be defined", "Notes": "None yet", "Skills": ["Listening", "Writing"], "Review": "yearly"}`)
	if err != nil {
		t.Fatal(err)
	}
	h, err := action.NewRoleDefaults(fastClient(s), defaults)
	if err != nil {
		t.Fatal(err)
	}
	r := &action.Runner{Name: "role-defaults", Handler: h}
	ctx := context.Background()
	parent := ""
	if root, ok := s.RootCircle(); ok {
		parent = root.ID
	}

	// Purpose set, Notes and Review absent, Skills present but blank, Other kept; Budget
	// a number field and Tags a multi-entry one (API 0.6.0 definitions), which must keep
	// their values and types.
	scribe := s.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: parent, CustomFields: []peerdomapi.CustomField{
		{Name: "purpose", Values: []string{"Take notes"}}, {Name: "Skills", Values: []string{" "}}, {Name: "Other", Values: []string{"x"}},
		{Name: "Budget", Values: []string{"42"}, Definition: json.RawMessage(`{"name":"Budget","type":"number","multiEntry":false}`)},
		{Name: "Tags", Values: []string{"ops"}, Definition: json.RawMessage(`{"name":"Tags","type":"text","multiEntry":true}`)}}})
	ev := busEvent(t, "Role Created", peerdom.Detail{Entity: "role", Action: "created", EntityID: scribe.ID, Name: "Scribe"})
	if err := r.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"Purpose": {"Take notes"}, "Notes": {"None yet"}, "Skills": {"Listening", "Writing"},
		"Review": {"yearly"}, "Other": {"x"}, "Budget": {"42"}, "Tags": {"ops"}} {
		if got := field(t, s, scribe.ID, name); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// Budget is still a number as the API shows it.
	raw, err := s.Client().Roles().GetRaw(ctx, scribe.ID, peerdomapi.Options{CustomFields: true})
	if err != nil || !strings.Contains(string(raw), `"name":"Budget","values":[42]`) {
		t.Errorf("Budget as read: %s (%v)", raw, err)
	}
	if err := r.Run(ctx, ev); err != nil { // again: already filled
		t.Fatal(err)
	}
	if w := writesBy(s, botEmail); !slices.Equal(w, []string{"PUT /roles/" + scribe.ID}) {
		t.Fatalf("writes = %v", w)
	}

	// A role that has every field is left alone.
	full := s.AddRole(peerdomapi.Role{Name: "Full", CustomFields: []peerdomapi.CustomField{
		{Name: "Purpose", Values: []string{"p"}}, {Name: "Notes", Values: []string{"n"}}, {Name: "Skills", Values: []string{"s"}}, {Name: "Review", Values: []string{"r"}}}})
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

// Fill reads the role again right before writing: a field a person filled since the
// event is not overwritten, and only what is still empty is written.
func TestRoleDefaultsFillRereads(t *testing.T) {
	s := newPeerdom(t, nil)
	defaults, _ := action.ParseFieldDefaults(`{"Purpose": "To be defined", "Review": "yearly"}`)
	h, _ := action.NewRoleDefaults(fastClient(s), defaults)
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	if _, err := s.ClientWithKey(janeKey).Roles().Update(context.Background(), role.ID,
		peerdomapi.RoleInput{CustomFields: peerdomapi.CustomFieldValues{"Purpose": {"Jane's purpose"}}}); err != nil {
		t.Fatal(err)
	}
	filled, err := h.Fill(context.Background(), role.ID)
	if err != nil || !slices.Equal(filled, []string{"Review"}) {
		t.Fatalf("filled %v, %v", filled, err)
	}
	if v := field(t, s, role.ID, "Purpose"); !slices.Equal(v, []string{"Jane's purpose"}) {
		t.Fatalf("Purpose = %q", v)
	}
}

// An API that answers the write but does not show the value makes the action fail
// once, not write again and again.
func TestRoleDefaultsFailsWhenTheWriteDoesNotShow(t *testing.T) {
	var mu sync.Mutex
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			puts = append(puts, string(b))
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "r1", "name": "Scribe", "customFields": []any{}})
	}))
	defer srv.Close()
	api, _ := peerdomapi.New(srv.URL, "k")
	defaults, _ := action.ParseFieldDefaults(`{"Purpose": "To be defined"}`)
	h, _ := action.NewRoleDefaults(api, defaults)
	err := h.Handle(context.Background(), action.Event{DetailType: "Role Created", Detail: peerdom.Detail{Entity: "role", Action: "created", EntityID: "r1"}})
	if err == nil || !strings.Contains(err.Error(), "the API still shows it empty") {
		t.Fatalf("err = %v", err)
	}
	if len(puts) != 1 || puts[0] != `{"customFields":{"Purpose":"To be defined"}}` {
		t.Fatalf("puts = %q", puts)
	}
}
