package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/doctor"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// seeded is an organization with enough of everything for every check: three roles
// (one with a number field, one with a multi-entry one), circles, peers (one former).
func seeded(t *testing.T, alt peerdomtest.Alternative) *peerdomtest.Server {
	t.Helper()
	cfg := peerdomtest.Config{}
	alt.Apply(&cfg)
	s := peerdomtest.NewServer(cfg)
	t.Cleanup(s.Close)
	parent := ""
	if root, ok := s.RootCircle(); ok {
		parent = root.ID
	}
	ops := s.AddGroup(peerdomapi.Group{Name: "Ops", ParentID: parent})
	s.AddGroup(peerdomapi.Group{Name: "Sales", ParentID: parent})
	scribe := s.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: ops.ID, CustomFields: []peerdomapi.CustomField{
		{Name: "Purpose", Values: []string{"Notes"}}, {Name: "Office", Values: []string{"Zurich"}}, {Name: "Desk", Values: []string{"3"}},
		{Name: "Budget", Values: []string{"42"}, Definition: json.RawMessage(`{"type":"number","multiEntry":false}`)}}})
	s.AddRole(peerdomapi.Role{Name: "Lead", ParentID: ops.ID, CustomFields: []peerdomapi.CustomField{
		{Name: "Tags", Values: []string{"a", "b"}, Definition: json.RawMessage(`{"type":"text","multiEntry":true}`)}}})
	s.AddRole(peerdomapi.Role{Name: "Host", ParentID: ops.ID})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	s.AddPeer(peerdomapi.Peer{FirstName: "Bob", LastName: "Byte"})
	s.AddPeer(peerdomapi.Peer{FirstName: "Gone", LastName: "Before", LeftAt: "2024-01-01T00:00:00Z"})
	s.AddHolder(peerdomtest.Holder{RoleID: scribe.ID, PeerID: ada.ID})
	return s
}

// TestDoctorNamesEveryAlternative: run read-only and with --write against the double
// under each of its alternatives, doctor names the behaviour, says peerbridge works,
// and leaves nothing behind.
func TestDoctorNamesEveryAlternative(t *testing.T) {
	// What the report must say, per alternative: check name → a part of what it found.
	want := map[string]map[string]string{
		"defaults": {"paging /roles": "limit and offset honoured", "circles path": "/circles, and GET /groups lists them too",
			"role holders": "a role's read carries holders", "PUT custom fields": "merged", "assignment answer": "201, a JSON object",
			"DELETE answer": "200, a JSON object", "root circle": `"Root"`, "former peers": "2 active; includeFormer=true adds 1",
			"built-in fields": "inside customFields", "duplicate assignment": "holds the role 2 times", "PUT without parentId": "accepted",
			"typed fields as text": "accepted", "base URL": "answers", "custom fields": "role Budget (number", "cleanup": "removed"},
		"built-in fields as attributes":         {"built-in fields": "as attributes"},
		"PUT replaces custom fields":            {"PUT custom fields": "replaced"},
		"built-ins as attributes, PUT replaces": {"built-in fields": "as attributes", "PUT custom fields": "replaced"},
		"parentId required":                     {"PUT without parentId": "refused (400: parentId is required)"},
		"assignment answered {}":                {"assignment answer": "200, {}"},
		"assignment answered with text":         {"assignment answer": "200, not JSON"},
		"assignment answered with an odd body":  {"assignment answer": "201, a JSON object"},
		"empty bodies on success":               {"assignment answer": "201, empty body", "DELETE answer": "204, empty body", "unassignment answer": "204, empty body"},
		"offset ignored by roles, circles and maps": {"paging /roles": "offset ignored, limit honoured", "paging /circles": "offset ignored",
			"paging /maps": "too few", "paging /peers": "limit and offset honoured"},
		"paging ignored by every list":        {"paging /roles": "limit and offset ignored", "paging /peers": "limit and offset ignored", "paging /circles": "limit and offset ignored"},
		"circles at /groups only":             {"circles path": "/groups only (GET /circles: 404)", "paging /groups": "limit and offset honoured"},
		"circles at /circles only":            {"circles path": "/circles only (GET /groups: 404)"},
		"role read without holders":           {"role holders": "carries no holders (the list: yes)", "peer roles": "carries its roles"},
		"typed custom fields refused as text": {"typed fields as text": "refused: Budget (number)", "PUT custom fields": "merged"},
		"typed fields strict, PUT replaces":   {"typed fields as text": "refused: Budget (number)", "PUT custom fields": "replaced"},
		"API moved (301 to another base)":     {"base URL": "redirected to http://127.0.0.1"},
		"no root circle":                      {"root circle": "2 circles without parentId: Ops, Sales"},
	}
	for _, alt := range peerdomtest.Alternatives() {
		t.Run(alt.Name, func(t *testing.T) {
			w, ok := want[alt.Name]
			if !ok {
				t.Fatalf("no expectation for alternative %q", alt.Name)
			}
			s := seeded(t, alt)
			rep := doctor.Run(context.Background(), s.Client(), doctor.Options{Write: true})
			var table bytes.Buffer
			doctor.Print(&table, rep)
			if !rep.Works {
				t.Fatalf("peerbridge said not to work:\n%s", table.String())
			}
			for name, part := range w {
				c, ok := rep.Find(name)
				if !ok || !strings.Contains(c.Found, part) {
					t.Errorf("%s: %q, want it to say %q\n%s", name, c.Found, part, table.String())
				}
			}
			// Nothing left behind, and the read-only run writes nothing.
			if n := len(s.Writes()); n == 0 {
				t.Fatal("--write wrote nothing")
			}
			roles, _ := s.Client().Roles().All(context.Background(), peerdomapi.Options{})
			peers, _ := s.Client().Peers().All(context.Background(), peerdomapi.Options{IncludeFormer: true})
			if len(roles) != 3 || len(peers) != 3 {
				t.Fatalf("left behind: %d roles, %d peers", len(roles), len(peers))
			}
			writes := len(s.Writes())
			ro := doctor.Run(context.Background(), s.Client(), doctor.Options{})
			if len(s.Writes()) != writes || !ro.Works {
				t.Fatalf("read-only run wrote %d times, works=%v", len(s.Writes())-writes, ro.Works)
			}
			if _, ok := ro.Find("scratch role"); ok {
				t.Fatal("read-only run made a scratch role")
			}
		})
	}
}

// TestDoctorRefusals: a 403 (no plan) and a refused key each fail with their own words.
func TestDoctorRefusals(t *testing.T) {
	for _, alt := range peerdomtest.Refusals() {
		s := seeded(t, alt)
		rep := doctor.Run(context.Background(), s.Client(), doctor.Options{Write: true})
		c, _ := rep.Find("plan")
		if rep.Works || c.Status != doctor.Fail || !strings.Contains(c.Found, "paid plan") || len(s.Writes()) != 0 {
			t.Errorf("%s: %+v", alt.Name, rep)
		}
	}
	s := seeded(t, peerdomtest.Alternatives()[0])
	rep := doctor.Run(context.Background(), s.ClientWithKey("wrong"), doctor.Options{})
	if c, _ := rep.Find("key"); rep.Works || c.Status != doctor.Fail || !strings.Contains(c.Found, "refused (401") {
		t.Errorf("wrong key: %+v", rep)
	}
}
