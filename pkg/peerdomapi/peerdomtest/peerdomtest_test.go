package peerdomtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func waitWebhooks(t *testing.T, s *peerdomtest.Server) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	return s.Webhooks()
}

func TestWebhooksForEveryWrite(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{Organization: "umbrella", OwnerName: "Jane Doe", OwnerEmail: "jane@example.com"})
	defer s.Close()
	c := s.Client()
	ctx := context.Background()
	mapID := s.LiveMap().ID
	circle := s.AddGroup(peerdomapi.Group{Name: "Ops"})

	role, err := c.Roles().Create(ctx, peerdomapi.RoleInput{Name: "Facilitator", MapID: mapID, ParentID: circle.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{Name: "Lead *Facilitator*",
		CustomFields: peerdomapi.CustomFieldValues{"Purpose": {"Keep the lights on"}, "Skills": {"Go", "SQL"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{CustomFields: peerdomapi.CustomFieldValues{"Skills": {"Go", "Rust"}}}); err != nil {
		t.Fatal(err)
	}
	// An update that changes nothing sends nothing.
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{Color: ""}); err != nil {
		t.Fatal(err)
	}
	peer, err := c.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AssignPeer(ctx, role.ID, peerdomapi.Assignment{PeerID: peer.ID}); err != nil {
		t.Fatal(err)
	}
	if err := c.UnassignPeer(ctx, role.ID, peer.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Roles().Delete(ctx, role.ID); err != nil {
		t.Fatal(err)
	}

	roleLink := "https://app.peerdom.org/umbrella/map/" + mapID + "/role/" + role.ID
	author := "**Author:** Jane Doe (jane@example.com)\n\n"
	want := []string{
		"**[Role](" + roleLink + ")** was created\n\n" + author + "**Name:** Facilitator\n**Map:** Main map\n**Circle:** Ops",
		"**[Role](" + roleLink + ")** was updated\n\n" + author + "**Name:** Facilitator → Lead \\*Facilitator\\*\n**Purpose:** → Keep the lights on\n**Skills:** [+] Go [+] SQL",
		"**[Role](" + roleLink + ")** was updated\n\n" + author + "**Skills:** [+] Rust [-] SQL",
		"**[Peer](https://app.peerdom.org/umbrella/peers/" + peer.ID + ")** was created\n\n" + author + "**Name:** Ada Lovelace",
		"**[Role](" + roleLink + ")** was updated\n\n" + author + "**Peers:** [+] Ada Lovelace",
		"**[Role](" + roleLink + ")** was updated\n\n" + author + "**Peers:** [-] Ada Lovelace",
		"**[Role](" + roleLink + ")** was deleted\n\n" + author + "**Name:** Lead \\*Facilitator\\*\n**Map:** Main map\n**Circle:** Ops\n**Purpose:** Keep the lights on\n**Skills:** Go, Rust",
	}
	got := waitWebhooks(t, s)
	if len(got) != len(want) {
		t.Fatalf("got %d webhooks, want %d:\n%s", len(got), len(want), strings.Join(got, "\n---\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("webhook %d:\n got: %q\nwant: %q", i, got[i], want[i])
		}
	}
	if n := len(s.Writes()); n != 8 { // the update that changed nothing is a write too
		t.Errorf("writes = %d, want 8", n)
	}
}

func TestWebhookAuthorIsTheKeyOwner(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	s.AddKey("human-key", peerdomtest.User{Name: "Grace Hopper", Email: "grace@acme.example"})
	s.AddKey("noname-key", peerdomtest.User{Email: "ops@acme.example"})
	ctx := context.Background()
	if _, err := s.ClientWithKey("human-key").Groups().Create(ctx, peerdomapi.GroupInput{Name: "Research", MapID: s.LiveMap().ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientWithKey("noname-key").Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client().Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Cy"}); err != nil {
		t.Fatal(err)
	}
	got := waitWebhooks(t, s)
	wantAuthors := []string{"**Author:** Grace Hopper (grace@acme.example)", "**Author:** ops@acme.example", "**Author:** Peerbridge Bot (bot@acme.example)"}
	if len(got) != 3 {
		t.Fatalf("webhooks = %q", got)
	}
	for i, a := range wantAuthors {
		if !strings.Contains(got[i], "\n\n"+a+"\n\n") {
			t.Errorf("webhook %d lacks %q: %q", i, a, got[i])
		}
	}
	if !strings.HasPrefix(got[0], "**[Circle](https://app.peerdom.org/acme/map/") {
		t.Errorf("group header: %q", got[0])
	}
	if w := s.WritesBy("grace@acme.example"); len(w) != 1 || w[0].Method != "POST" || w[0].Path != "/circles" {
		t.Errorf("writes by grace = %+v", w)
	}
}

func TestWebhookPostedToURL(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]string
	var types []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("webhook body %q: %v", b, err)
		}
		mu.Lock()
		bodies = append(bodies, m)
		types = append(types, r.Header.Get("Content-Type"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer recv.Close()
	var cbBodies []string
	s := peerdomtest.NewServer(peerdomtest.Config{WebhookURL: recv.URL, Webhook: func(ctx context.Context, body []byte) {
		cbBodies = append(cbBodies, string(body)) // deliveries are one at a time: no lock needed
	}})
	defer s.Close()
	if _, err := s.Client().Peers().Create(context.Background(), peerdomapi.PeerInput{FirstName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	got := waitWebhooks(t, s)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || bodies[0]["text"] != got[0] || types[0] != "application/json" {
		t.Fatalf("received %v (%v), sent %q", bodies, types, got)
	}
	if len(cbBodies) != 1 || !strings.HasPrefix(cbBodies[0], `{"text":"**[Peer](`) {
		t.Fatalf("callback got %q", cbBodies)
	}
	if errs := s.WebhookErrors(); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
}

func TestWebhookURLFailureIsRecorded(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer recv.Close()
	s := peerdomtest.NewServer(peerdomtest.Config{WebhookURL: recv.URL})
	defer s.Close()
	if _, err := s.Client().Peers().Create(context.Background(), peerdomapi.PeerInput{FirstName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	waitWebhooks(t, s)
	if errs := s.WebhookErrors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "401") {
		t.Fatalf("errors = %v", errs)
	}
}

func TestKeyCheck(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "right"})
	defer s.Close()
	for _, key := range []string{"", "wrong"} {
		req, _ := http.NewRequest("GET", s.URL+"/peers", nil)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("key %q: status %d", key, resp.StatusCode)
		}
	}
	if _, err := s.Client().Peers().All(context.Background(), peerdomapi.Options{}); err != nil {
		t.Fatalf("right key: %v", err)
	}
}

// rawCall makes one request with the double's key and returns the status and body.
func rawCall(t *testing.T, s *peerdomtest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("X-Api-Key", s.Config().APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The double refuses what the API is documented to refuse, with a {"message"}, and
// serves nothing it is not known to serve.
func TestStrictness(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	peer := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	mapID := s.LiveMap().ID
	cases := []struct {
		method, path, body string
		want               int
		message            string
	}{
		{"GET", "/peers?limit=0", "", 400, "limit must be an integer from 1 to 100"},
		{"GET", "/peers?limit=101", "", 400, "limit must be an integer from 1 to 100"},
		{"GET", "/roles?limit=x", "", 400, "limit must be an integer from 1 to 100"},
		{"GET", "/peers?offset=-1", "", 400, "offset must be a non-negative integer"},
		{"GET", "/peers?includeFormer=maybe", "", 400, "includeFormer must be true or false"},
		{"POST", "/peers", `{"lastName":"Lovelace"}`, 400, "firstName is required"},
		{"POST", "/peers", `{"firstName":"Ada","percentage":150}`, 400, "percentage must be an integer from 0 to 100"},
		{"POST", "/peers", `{"firstName":"Ada","customFields":[{"name":"Office","values":["Zurich"]}]}`, 400, "customFields must be an object keyed by field name"},
		{"PUT", "/roles/" + role.ID, `{"customFields":[{"name":"Purpose","values":["x"]}]}`, 400, "customFields must be an object keyed by field name"},
		{"PUT", "/roles/" + role.ID, `{"customFields":{"Purpose":{"text":"x"}}}`, 400, `customFields["Purpose"]: a value must be a string, number or boolean, or an array of them`},
		{"POST", "/peers", `[]`, 400, "the body must be a JSON object or a non-empty array of objects"},
		{"POST", "/peers", `[{"firstName":"Ada"},{"lastName":"Nobody"}]`, 400, "item 1: firstName is required; nothing was created"},
		{"POST", "/roles", `[{"name":"x"}]`, 400, "the body must be a JSON object"},
		{"POST", "/roles", `{"name":"x"}`, 400, "mapId is required"},
		{"POST", "/roles", `{"mapId":"` + mapID + `"}`, 400, "name is required"},
		{"POST", "/roles/" + role.ID + "/peers", `{}`, 400, "peerId is required"},
		{"POST", "/roles/" + role.ID + "/peers", `{"peerId":"nope"}`, 400, "peer nope not found"},
		{"POST", "/roles/" + role.ID + "/peers", `{"peerId":"` + peer.ID + `","percentage":101}`, 400, "percentage must be an integer from 0 to 100"},
		{"POST", "/roles/" + role.ID + "/peers", `{"peerId":"` + peer.ID + `","electedUntil":"next year"}`, 400, "electedUntil must be a date (YYYY-MM-DD)"},
		{"POST", "/roles/nope/peers", `{"peerId":"x"}`, 404, "role not found"},
		{"DELETE", "/roles/" + role.ID + "/peers/" + peer.ID, ``, 404, "does not hold this role"},
		{"PUT", "/roles/nope", `{}`, 404, "role not found"},
		{"GET", "/holders", ``, 404, "no such endpoint: GET /holders"},
		{"POST", "/holders", `{"roleId":"` + role.ID + `","peerId":"` + peer.ID + `"}`, 404, "no such endpoint"},
		{"GET", "/maps/" + mapID, ``, 404, "no such endpoint"},
		{"GET", "/groups/x", ``, 404, "no such endpoint"},
		{"DELETE", "/maps", ``, 404, "no such endpoint"},
	}
	for _, c := range cases {
		status, body := rawCall(t, s, c.method, c.path, c.body)
		var e struct{ Message string }
		_ = json.Unmarshal([]byte(body), &e)
		if status != c.want || !strings.Contains(e.Message, c.message) {
			t.Errorf("%s %s %s: %d %s, want %d with message %q", c.method, c.path, c.body, status, body, c.want, c.message)
		}
	}
	if len(s.Writes()) != 0 {
		t.Errorf("refused requests counted as writes: %v", s.Writes())
	}
	for _, path := range []string{"/circles", "/groups", "/maps", "/peers", "/roles"} {
		if status, body := rawCall(t, s, "GET", path+"?limit=100", ""); status != 200 || !strings.HasPrefix(body, "[") {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
	// A role is answered without mapId, as in the documented sample; holders are inside.
	_, body := rawCall(t, s, "GET", "/roles/"+role.ID, "")
	var obj map[string]any
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		t.Fatal(err)
	}
	if _, has := obj["mapId"]; has {
		t.Errorf("role has mapId: %s", body)
	}
	if _, has := obj["holders"]; !has {
		t.Errorf("role lacks holders: %s", body)
	}
	if _, has := obj["customFields"]; has {
		t.Errorf("custom fields without with=customfields: %s", body)
	}
}

func TestCustomFieldsWrittenAsAnObjectReadAsAnArray(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	status, body := rawCall(t, s, "POST", "/peers", `{"firstName":"Ada","percentage":80,"customFields":{"Office":"Zurich","Languages":["en","fr"]}}`)
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal([]byte(body), &created)
	_, body = rawCall(t, s, "GET", "/peers/"+created.ID+"?with=customfields", "")
	var got map[string]any
	_ = json.Unmarshal([]byte(body), &got)
	want := []any{map[string]any{"name": "Office", "values": []any{"Zurich"}}, map[string]any{"name": "Languages", "values": []any{"en", "fr"}}}
	if !reflect.DeepEqual(got["customFields"], want) || got["contribution"] != 80.0 || got["contributionUnit"] != "percent" {
		t.Fatalf("peer = %s", body)
	}
	if _, has := got["percentage"]; has {
		t.Fatalf("percentage is a write field, the answer has contribution: %s", body)
	}
}

func TestPeersCreatedAsAnArray(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	status, body := rawCall(t, s, "POST", "/peers", `[{"firstName":"Ada"},{"firstName":"Bob","percentage":50}]`)
	var created []peerdomapi.Peer
	if err := json.Unmarshal([]byte(body), &created); status != 201 || err != nil || len(created) != 2 || created[1].FirstName != "Bob" {
		t.Fatalf("%d %s", status, body)
	}
	if len(s.Writes()) != 2 || len(waitWebhooks(t, s)) != 2 {
		t.Fatalf("writes %v", s.Writes())
	}
}

func TestPeerListsActiveUnlessIncludeFormer(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	gone := s.AddPeer(peerdomapi.Peer{FirstName: "Bob", LeftAt: "2024-01-31T00:00:00Z"})
	s.AddPeer(peerdomapi.Peer{FirstName: "Cy", LeftAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}) // leaving, not gone
	ctx := context.Background()
	active, err := s.Client().Peers().All(ctx, peerdomapi.Options{})
	if err != nil || len(active) != 2 {
		t.Fatalf("active = %+v, %v", active, err)
	}
	all, err := s.Client().Peers().All(ctx, peerdomapi.Options{IncludeFormer: true})
	if err != nil || len(all) != 3 || all[1].ID != gone.ID || !all[1].Former(time.Now()) {
		t.Fatalf("with former = %+v, %v", all, err)
	}
	// A former peer is still there by id.
	if p, err := s.Client().Peers().Get(ctx, gone.ID, peerdomapi.Options{}); err != nil || p.LeftAt == "" {
		t.Fatalf("get former = %+v, %v", p, err)
	}
}

func TestAssignmentAnswerIsConfigurable(t *testing.T) {
	for _, ans := range []peerdomtest.AssignAnswer{{}, {Status: 200, Body: "{}"}, {Status: 200, Body: "OK"}, {Status: 204}} {
		s := peerdomtest.NewServer(peerdomtest.Config{AssignAnswer: ans})
		role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
		peer := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
		status, body := rawCall(t, s, "POST", "/roles/"+role.ID+"/peers", `{"peerId":"`+peer.ID+`","percentage":20,"focus":"minutes","electedUntil":"2027-01-31"}`)
		wantStatus := ans.Status
		if wantStatus == 0 {
			wantStatus = 201 // the default
		}
		wantBody := ans.Body
		if ans.Body == "" && ans.Status == 0 {
			// The default: the role, as JSON (Peerdom's own client parses a JSON body from
			// every success).
			wantBody = "holders"
		}
		if status != wantStatus || !strings.Contains(body, wantBody) || (wantBody == "" && body != "") {
			t.Errorf("answer %+v: got %d %q", ans, status, body)
		}
		if err := s.Client().AssignPeer(context.Background(), role.ID, peerdomapi.Assignment{PeerID: peer.ID}); err != nil {
			t.Errorf("answer %+v: client: %v", ans, err)
		}
		got, _ := s.Role(role.ID)
		if len(got.Holders) != 2 || got.Holders[0].PeerID != peer.ID || *got.Holders[0].Contribution != 20 {
			t.Errorf("holders = %+v", got.Holders)
		}
		s.Close()
	}
}

func TestBuiltinFieldPlacement(t *testing.T) {
	for _, tc := range []struct {
		placement peerdomtest.BuiltinPlacement
		write     string // the body that sets Purpose
		want      string // the key in the answer that holds it
	}{
		{peerdomtest.BuiltinsInCustomFields, `{"customFields":{"Purpose":"Notes"}}`, "customFields"},
		{peerdomtest.BuiltinsAsAttributes, `{"purpose":"Notes"}`, "purpose"},
	} {
		s := peerdomtest.NewServer(peerdomtest.Config{Builtins: tc.placement})
		seeded := s.AddRole(peerdomapi.Role{Name: "Scribe", CustomFields: []peerdomapi.CustomField{{Name: "Accountabilities", Values: []string{"Minutes"}}}})
		if v, where := seeded.Field("Accountabilities"); len(v) != 1 || (where == peerdomapi.AsAttribute) != (tc.placement == peerdomtest.BuiltinsAsAttributes) {
			t.Errorf("placement %d: seeded Accountabilities %v at %v", tc.placement, v, where)
		}
		if status, body := rawCall(t, s, "PUT", "/roles/"+seeded.ID, tc.write); status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		_, body := rawCall(t, s, "GET", "/roles/"+seeded.ID+"?with=customfields", "")
		if !strings.Contains(body, `"`+tc.want+`":`) || !strings.Contains(body, "Notes") {
			t.Errorf("placement %d: %s", tc.placement, body)
		}
		// The attribute is on every role under that placement, empty or not.
		_, body = rawCall(t, s, "GET", "/roles", "")
		if strings.Contains(body, `"purpose":`) != (tc.placement == peerdomtest.BuiltinsAsAttributes) {
			t.Errorf("placement %d: list %s", tc.placement, body)
		}
		hooks := waitWebhooks(t, s)
		if len(hooks) != 1 || !strings.HasSuffix(hooks[0], "**Purpose:** → Notes") {
			t.Errorf("placement %d: webhooks %q", tc.placement, hooks)
		}
		s.Close()
	}
}

func TestPutMergesOrReplacesCustomFields(t *testing.T) {
	for _, tc := range []struct {
		mode peerdomtest.PutCustomFields
		want map[string][]string
	}{
		{peerdomtest.MergeCustomFields, map[string][]string{"Purpose": {"Run"}, "Skills": {"Go"}}},
		{peerdomtest.ReplaceCustomFields, map[string][]string{"Purpose": nil, "Skills": {"Go"}}},
	} {
		s := peerdomtest.NewServer(peerdomtest.Config{PutCustomFields: tc.mode})
		role := s.AddRole(peerdomapi.Role{Name: "Ops", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Run"}}}})
		if _, err := s.Client().Roles().Update(context.Background(), role.ID, peerdomapi.RoleInput{CustomFields: peerdomapi.CustomFieldValues{"Skills": {"Go"}}}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Role(role.ID)
		for name, want := range tc.want {
			if v, _ := got.Field(name); !slices.Equal(v, want) {
				t.Errorf("mode %d: %s = %q, want %q", tc.mode, name, v, want)
			}
		}
		s.Close()
	}
}

func TestRequireParentIDAndRootCircle(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{RequireParentID: true, RootCircle: "Acme"})
	defer s.Close()
	root, ok := s.RootCircle()
	if !ok || root.ParentID != "" || root.Name != "Acme" {
		t.Fatalf("root = %+v, %v", root, ok)
	}
	_, body := rawCall(t, s, "GET", "/circles/"+root.ID, "")
	if strings.Contains(body, "parentId") {
		t.Fatalf("the root circle has a parentId: %s", body)
	}
	role := s.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: root.ID})
	if status, body := rawCall(t, s, "PUT", "/roles/"+role.ID, `{"color":"#ff0000"}`); status != 400 || !strings.Contains(body, "parentId is required") {
		t.Fatalf("PUT without parentId: %d %s", status, body)
	}
	if status, body := rawCall(t, s, "PUT", "/roles/"+role.ID, `{"color":"#ff0000","parentId":"`+root.ID+`"}`); status != 200 {
		t.Fatalf("PUT with parentId: %d %s", status, body)
	}
	// The root circle has no parent to name.
	if status, body := rawCall(t, s, "PUT", "/circles/"+root.ID, `{"color":"#00ff00"}`); status != 200 {
		t.Fatalf("PUT root: %d %s", status, body)
	}
}

func TestDropWebhooks(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	s.DropWebhooks(2)
	c := s.Client()
	for _, name := range []string{"Ada", "Bob", "Cy"} {
		if _, err := c.Peers().Create(context.Background(), peerdomapi.PeerInput{FirstName: name}); err != nil {
			t.Fatal(err)
		}
	}
	sent := waitWebhooks(t, s)
	dropped := s.DroppedWebhooks()
	if len(sent) != 1 || !strings.Contains(sent[0], "**Name:** Cy") || len(dropped) != 2 || !strings.Contains(dropped[0], "**Name:** Ada") {
		t.Fatalf("sent %q, dropped %q", sent, dropped)
	}
	if len(s.Writes()) != 3 {
		t.Fatalf("writes = %d: a lost webhook is still a write", len(s.Writes()))
	}
}

func TestFaultsMatchMethodAndPathAndRunOut(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	s.InjectFault(peerdomtest.Fault{Method: "GET", Path: "/roles", Status: 500, Times: 2})
	get := func(path string) int {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("X-Api-Key", s.Config().APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{get("/peers"), get("/roles"), get("/roles"), get("/roles")}
	want := []int{200, 500, 500, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", got, want)
		}
	}
}
