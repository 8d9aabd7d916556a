package peerdomapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// The contract tests hold the client to the shapes docs/peerdom-api.md records (testdata/):
// it must decode them, and hand them on (GetRaw, ListRaw: what snapshots and export use)
// byte for byte, unknown keys included.

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleAPI answers GET {path}/{id} with the object and GET {path} with a one-item
// list, as the API would send them.
func sampleAPI(t *testing.T, path string, obj []byte) *peerdomapi.Client {
	t.Helper()
	var id struct{ ID string }
	if err := json.Unmarshal(obj, &id); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == path+"/"+id.ID:
			w.Write(obj)
		case r.URL.Path == path && r.URL.Query().Get("offset") == "0":
			w.Write([]byte("[" + string(obj) + "]"))
		case r.URL.Path == path:
			w.Write([]byte("[]"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := peerdomapi.New(srv.URL, "k")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonEqual(t *testing.T, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(g, w)
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestContractPeerDocsSample(t *testing.T) {
	obj := sample(t, "peer-0.3.json")
	c := sampleAPI(t, "/peers", obj)
	ctx := context.Background()
	p, err := c.Peers().Get(ctx, "5f1c7a52-3c8e-4b61-9d3c-2a0e8f6b1d47", peerdomapi.Options{CustomFields: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.FullName() != "Ada Lovelace" || p.NickName != "Countess" || *p.Contribution != 80 || p.ContributionUnit != "percent" ||
		p.Birthdate != "1815-12-10T00:00:00.000Z" || p.AvatarURL == "" || p.Extra != nil {
		t.Fatalf("peer = %+v", p)
	}
	if v, _ := peerdomapi.FieldValues(p.CustomFields, "languages"); !slices.Equal(v, []string{"English", "French"}) {
		t.Fatalf("custom fields = %+v", p.CustomFields)
	}
	checkLossless(t, c.Peers().Collection, "5f1c7a52-3c8e-4b61-9d3c-2a0e8f6b1d47", obj)
	// Every key of the sample has a field: encoding the decoded peer gives it back.
	if b, _ := json.Marshal(p); !jsonEqual(t, b, obj) {
		t.Fatalf("typed round trip:\n%s\nwant\n%s", b, obj)
	}
}

func TestContractRoleSample(t *testing.T) {
	obj := sample(t, "role.json")
	c := sampleAPI(t, "/roles", obj)
	r, err := c.Roles().Get(context.Background(), "0b8d3e27-7f2a-4c55-8f1e-6a9d2c4b7e10", peerdomapi.Options{CustomFields: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Scribe" || r.ParentID == "" || !*r.Electable || *r.External || *r.Mirrored || r.Shape != "circle" ||
		r.GroupEmail != "scribe@acme.example" || !r.HeldBy("5f1c7a52-3c8e-4b61-9d3c-2a0e8f6b1d47") || *r.Holders[0].Contribution != 10 {
		t.Fatalf("role = %+v", r)
	}
	if v, where := r.Field("purpose"); where != peerdomapi.InCustomFields || !slices.Equal(v, []string{"Meetings that leave a record"}) {
		t.Fatalf("Purpose = %v at %v", v, where)
	}
	// salaryLevel and goals (types undocumented) are kept as sent.
	if string(r.Extra["salaryLevel"]) != "null" || string(r.Extra["goals"]) != "[]" || len(r.Extra) != 2 {
		t.Fatalf("extra = %v", r.Extra)
	}
	checkLossless(t, c.Roles().Collection, "0b8d3e27-7f2a-4c55-8f1e-6a9d2c4b7e10", obj)
	if b, _ := json.Marshal(r); !jsonEqual(t, b, obj) {
		t.Fatalf("typed round trip:\n%s\nwant\n%s", b, obj)
	}
}

func TestContractPeer060(t *testing.T) {
	obj := sample(t, "peer-0.6.0.json")
	c := sampleAPI(t, "/peers", obj)
	p, err := c.Peers().Get(context.Background(), "c2d94e1a-6b37-4f0e-8a25-7d1f3b9c6e58", peerdomapi.Options{CustomFields: true, PeerRoles: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.JoinedAt == "" || !p.Former(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || p.Former(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		len(p.Roles) != 1 || p.Roles[0].Name != "Scribe" {
		t.Fatalf("peer = %+v", p)
	}
	f := p.CustomFields[1]
	var def struct{ MultiEntry bool }
	if f.ID != "1f0e9d8c-7b6a-4594-8372-615049382716" || !slices.Equal(f.Values, []string{"English", "COBOL"}) ||
		json.Unmarshal(f.Definition, &def) != nil || !def.MultiEntry {
		t.Fatalf("custom field = %+v", f)
	}
	checkLossless(t, c.Peers().Collection, "c2d94e1a-6b37-4f0e-8a25-7d1f3b9c6e58", obj)
}

// checkLossless: what GetRaw and ListRaw hand on is the API's object, every key kept.
func checkLossless[T any](t *testing.T, coll peerdomapi.Collection[T], id string, obj []byte) {
	t.Helper()
	raw, err := coll.GetRaw(context.Background(), id, peerdomapi.Options{CustomFields: true})
	if err != nil || compact(t, raw) != compact(t, obj) {
		t.Fatalf("GetRaw = %s, %v", raw, err)
	}
	n := 0
	for raw, err := range coll.ListRaw(context.Background(), peerdomapi.Options{CustomFields: true}) {
		if err != nil || compact(t, raw) != compact(t, obj) {
			t.Fatalf("ListRaw = %s, %v", raw, err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("ListRaw gave %d items", n)
	}
}

func TestDecodingIsTolerant(t *testing.T) {
	var r peerdomapi.Role
	err := json.Unmarshal([]byte(`{"id":"r1","name":"Ops","futureKey":{"a":1},
		"customFields":[{"name":"Budget","values":[1200, true, null, "x", {"currency":"CHF"}]},{"name":"Lone","values":"one"},{"name":"None","values":null}]}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := peerdomapi.FieldValues(r.CustomFields, "Budget"); !slices.Equal(v, []string{"1200", "true", "x", `{"currency":"CHF"}`}) {
		t.Fatalf("Budget = %q", v)
	}
	if v, _ := peerdomapi.FieldValues(r.CustomFields, "Lone"); !slices.Equal(v, []string{"one"}) {
		t.Fatalf("Lone = %q", v)
	}
	if !peerdomapi.FieldEmpty(r.CustomFields, "None") || string(r.Extra["futureKey"]) != `{"a":1}` {
		t.Fatalf("role = %+v", r)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"futureKey":{"a":1}`) {
		t.Fatalf("unknown key lost when encoding: %s", b)
	}
}

func TestBuiltinFieldsReadFromEitherPlace(t *testing.T) {
	var asAttr, inCF, both peerdomapi.Role
	_ = json.Unmarshal([]byte(`{"id":"1","purpose":"Run","accountabilities":["A","B"],"notes":null}`), &asAttr)
	_ = json.Unmarshal([]byte(`{"id":"2","customFields":[{"name":"Purpose","values":["Run"]}]}`), &inCF)
	_ = json.Unmarshal([]byte(`{"id":"3","purpose":"","customFields":[{"name":"Purpose","values":["Run"]}]}`), &both)
	for _, c := range []struct {
		role  peerdomapi.Role
		name  string
		want  []string
		where peerdomapi.FieldPlace
	}{
		{asAttr, "Purpose", []string{"Run"}, peerdomapi.AsAttribute},
		{asAttr, "accountabilities", []string{"A", "B"}, peerdomapi.AsAttribute},
		{asAttr, "Notes", nil, peerdomapi.AsAttribute},
		{asAttr, "Skills", nil, peerdomapi.FieldAbsent},
		{inCF, "Purpose", []string{"Run"}, peerdomapi.InCustomFields},
		{inCF, "Notes", nil, peerdomapi.FieldAbsent},
		{both, "Purpose", []string{"Run"}, peerdomapi.InCustomFields}, // the value wins over the empty attribute
	} {
		if v, where := c.role.Field(c.name); !slices.Equal(v, c.want) || where != c.where {
			t.Errorf("role %s, %s = %q at %v, want %q at %v", c.role.ID, c.name, v, where, c.want, c.where)
		}
	}
}

func TestWriteShapes(t *testing.T) {
	pct := 60
	in := peerdomapi.RoleInput{Name: "Ops", ParentID: "c1", CustomFields: peerdomapi.CustomFieldValues{"Office": {"Zurich"}, "Skills": {"Go", "SQL"}, "Old": nil}}
	if err := in.SetBuiltin("Purpose", []string{"Run"}); err != nil {
		t.Fatal(err)
	}
	if err := in.SetBuiltin("Skills", []string{"x"}); err == nil {
		t.Fatal("Skills accepted as a built-in field")
	}
	b, _ := json.Marshal(in)
	if want := `{"customFields":{"Office":"Zurich","Old":"","Skills":["Go","SQL"]},"name":"Ops","parentId":"c1","purpose":"Run"}`; string(b) != want {
		t.Fatalf("role input = %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(peerdomapi.PeerInput{FirstName: "Ada", Percentage: &pct})
	if want := `{"firstName":"Ada","percentage":60}`; string(b) != want {
		t.Fatalf("peer input = %s", b)
	}
}

func TestPageSizeCheckedBeforeAnyRequest(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	for _, size := range []int{-1, 101, 1000} {
		_, err := s.Client().Peers().Page(context.Background(), peerdomapi.Options{PageSize: size})
		if err == nil || !strings.Contains(err.Error(), "outside 1–100") {
			t.Errorf("page size %d: %v", size, err)
		}
	}
	if _, err := s.Client().Peers().Page(context.Background(), peerdomapi.Options{Offset: -1}); err == nil {
		t.Error("negative offset accepted")
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests made with a bad page size", n)
	}
	for _, size := range []int{0, 1, 100} {
		if _, err := s.Client().Peers().Page(context.Background(), peerdomapi.Options{PageSize: size}); err != nil {
			t.Errorf("page size %d: %v", size, err)
		}
	}
}

func TestAssignmentCheckedBeforeSending(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	pct := 120
	for _, a := range []peerdomapi.Assignment{{}, {PeerID: "p", Percentage: &pct}, {PeerID: "p", ElectedUntil: "31.12.2026"}} {
		if err := s.Client().AssignPeer(context.Background(), "r", a); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests made", n)
	}
}

func TestErrorMessageSurfaced(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	_, err := s.Client().Peers().Create(context.Background(), peerdomapi.PeerInput{LastName: "Lovelace"})
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "firstName is required" ||
		err.Error() != "peerdom api: POST /v1/peers: 400 Bad Request: firstName is required" {
		t.Fatalf("err = %v (%#v)", err, err)
	}
}

func TestPathsAndQueries(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	c := s.Client()
	ctx := context.Background()
	g, err := c.Groups().Create(ctx, peerdomapi.GroupInput{Name: "Ops", MapID: s.LiveMap().ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Groups().Get(ctx, g.ID, peerdomapi.Options{CustomFields: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Peers().All(ctx, peerdomapi.Options{IncludeFormer: true, PageSize: 5}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query)
	}
	// The first call on circles finds where they are served (a one-item list), once.
	want := []string{"GET /circles?limit=1&offset=0", "POST /circles?", "GET /circles/" + g.ID + "?with=customfields", "GET /peers?includeFormer=true&limit=5&offset=0"}
	if !slices.Equal(got, want) {
		t.Fatalf("requests = %q\nwant %q", got, want)
	}
}
