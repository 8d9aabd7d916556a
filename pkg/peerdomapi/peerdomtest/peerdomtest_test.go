package peerdomtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

	role, err := c.Roles().Create(ctx, peerdomapi.Role{Name: "Facilitator", MapID: mapID, ParentID: circle.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.Role{Name: "Lead *Facilitator*",
		CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Keep the lights on"}}, {Name: "Skills", Values: []string{"Go", "SQL"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.Role{CustomFields: []peerdomapi.CustomField{{Name: "Skills", Values: []string{"Go", "Rust"}}}}); err != nil {
		t.Fatal(err)
	}
	// An update that changes nothing sends nothing.
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.Role{Color: ""}); err != nil {
		t.Fatal(err)
	}
	peer, err := c.Peers().Create(ctx, peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.AssignPeer(ctx, role.ID, peerdomapi.Assignment{PeerID: peer.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Holders().Delete(ctx, h.ID); err != nil {
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
	if _, err := s.ClientWithKey("human-key").Groups().Create(ctx, peerdomapi.Group{Name: "Research", MapID: s.LiveMap().ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientWithKey("noname-key").Peers().Create(ctx, peerdomapi.Peer{FirstName: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client().Peers().Create(ctx, peerdomapi.Peer{FirstName: "Cy"}); err != nil {
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
	if w := s.WritesBy("grace@acme.example"); len(w) != 1 || w[0].Method != "POST" || w[0].Path != "/groups" {
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
	if _, err := s.Client().Peers().Create(context.Background(), peerdomapi.Peer{FirstName: "Ada"}); err != nil {
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
	if _, err := s.Client().Peers().Create(context.Background(), peerdomapi.Peer{FirstName: "Ada"}); err != nil {
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

func TestValidation(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("X-Api-Key", s.Config().APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	cases := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/peers?limit=0", "", 400},
		{"GET", "/peers?offset=-1", "", 400},
		{"POST", "/roles", `{"name":"x"}`, 400},                       // no mapId
		{"POST", "/roles", `{"mapId":"` + s.LiveMap().ID + `"}`, 400}, // no name
		{"POST", "/peers", `[]`, 400},
		{"POST", "/peers", `{}`, 400},
		{"POST", "/roles/" + role.ID + "/peers", `{"peerId":"nope"}`, 400},
		{"POST", "/roles/nope/peers", `{"peerId":"x"}`, 404},
		{"PUT", "/roles/nope", `{}`, 404},
		{"DELETE", "/maps/x", ``, 405},
		{"GET", "/circles", ``, 200},
	}
	for _, c := range cases {
		if got := do(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s %s %s: %d, want %d", c.method, c.path, c.body, got, c.want)
		}
	}
	if len(s.Writes()) != 0 {
		t.Errorf("refused requests counted as writes: %v", s.Writes())
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
