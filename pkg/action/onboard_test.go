package action_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestOnboardPeer(t *testing.T) {
	for _, alt := range peerdomtest.Alternatives() {
		t.Run(alt.Name, func(t *testing.T) { testOnboardPeer(t, alt) })
	}
}

func testOnboardPeer(t *testing.T, alt peerdomtest.Alternative) {
	s := newPeerdomUnder(t, alt, nil)
	welcome := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	buddy := s.AddRole(peerdomapi.Role{Name: "Buddy circle member"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	h, err := action.NewOnboardPeer(fastClient(s), []string{welcome.ID, buddy.ID})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	r := &action.Runner{Name: "onboard-peer", Handler: h, Logger: logs.logger()}
	ev := busEvent(t, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", EntityID: ada.ID, Name: "Ada Lovelace", Author: author("Jane Doe", janeEmail)})

	if err := r.Run(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if holdersOf(s, welcome.ID, ada.ID) != 1 || holdersOf(s, buddy.ID, ada.ID) != 1 {
		t.Fatalf("holders after first delivery: %+v", s.Holders())
	}
	// The same event again (EventBridge delivers at least once): nothing more is written.
	if err := r.Run(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := writesBy(s, botEmail); !slices.Equal(got, []string{"POST /roles/" + welcome.ID + "/peers", "POST /roles/" + buddy.ID + "/peers"}) {
		t.Fatalf("writes = %v", got)
	}
	lines := logs.lines(t)
	if lines[1]["outcome"] != "done" || len(lines[1]["assigned"].([]any)) != 0 || len(lines[1]["alreadyHeld"].([]any)) != 2 {
		t.Fatalf("second delivery log: %v", lines[1])
	}

	// Other events are not for this action.
	if err := r.Run(context.Background(), busEvent(t, "Peer Updated", peerdom.Detail{Entity: "peer", Action: "updated", EntityID: ada.ID})); err != nil {
		t.Fatal(err)
	}
	if len(s.WritesBy(botEmail)) != 2 {
		t.Fatal("acted on Peer Updated")
	}
}

func TestOnboardPeerByNameAndPartlyHeld(t *testing.T) {
	s := newPeerdom(t, nil)
	welcome := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	buddy := s.AddRole(peerdomapi.Role{Name: "Buddy"})
	bob := s.AddPeer(peerdomapi.Peer{FirstName: "Bob", LastName: "Byte"})
	s.AddHolder(peerdomtest.Holder{RoleID: welcome.ID, PeerID: bob.ID})
	h, _ := action.NewOnboardPeer(fastClient(s), []string{welcome.ID, buddy.ID})
	r := &action.Runner{Name: "onboard-peer", Handler: h}
	// No entityId (a link without a UUID): found by name.
	if err := r.Run(context.Background(), busEvent(t, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", Name: "Bob Byte"})); err != nil {
		t.Fatal(err)
	}
	if holdersOf(s, welcome.ID, bob.ID) != 1 || holdersOf(s, buddy.ID, bob.ID) != 1 || len(s.WritesBy(botEmail)) != 1 {
		t.Fatalf("holders = %+v, writes = %v", s.Holders(), s.WritesBy(botEmail))
	}
}

func TestOnboardPeerAfterAmbiguousFailureDoesNotDuplicate(t *testing.T) {
	// The assignment is applied but answered 502: the client does not repeat the POST and
	// the event fails; EventBridge's retry then finds the role held and writes nothing.
	s := newPeerdom(t, nil)
	welcome := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	h, _ := action.NewOnboardPeer(fastClient(s), []string{welcome.ID})
	r := &action.Runner{Name: "onboard-peer", Handler: h}
	ev := busEvent(t, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", EntityID: ada.ID})
	s.InjectFault(peerdomtest.Fault{Method: "POST", Status: 502, Apply: true})
	var apiErr *peerdomapi.Error
	if err := r.Run(context.Background(), ev); !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
		t.Fatalf("first try: %v", err)
	}
	if err := r.Run(context.Background(), ev); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := holdersOf(s, welcome.ID, ada.ID); n != 1 {
		t.Fatalf("holders = %d, want 1", n)
	}
}

func TestOnboardPeerFailsClearly(t *testing.T) {
	s := newPeerdom(t, nil)
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	if _, err := action.NewOnboardPeer(fastClient(s), nil); err == nil {
		t.Fatal("no roles accepted")
	}
	h, _ := action.NewOnboardPeer(fastClient(s), []string{"no-such-role"})
	err := h.Handle(context.Background(), action.Event{DetailType: "Peer Created", Detail: peerdom.Detail{Entity: "peer", Action: "created", EntityID: ada.ID}})
	if !errors.Is(err, peerdomapi.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

// When neither a role's read carries its holders nor a peer's read its roles, onboard-peer
// cannot tell whether the peer holds the role: it assigns nothing and says why, rather
// than risk holding the role twice.
func TestOnboardPeerRefusesToGuessHolders(t *testing.T) {
	p := peerdomtest.New(peerdomtest.Config{APIKey: "bot-key", OwnerEmail: botEmail, RoleReadWithoutHolders: true})
	defer p.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/peers/") {
			p.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		var obj map[string]json.RawMessage
		_ = json.Unmarshal(rec.Body.Bytes(), &obj)
		delete(obj, "roles") // this API's peer read has no with=roles
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(obj)
	}))
	defer srv.Close()
	api, _ := peerdomapi.New(srv.URL+"/v1", "bot-key")
	role := p.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := p.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	h, _ := action.NewOnboardPeer(api, []string{role.ID})
	err := h.Handle(context.Background(), busEvent(t, "Peer Created", peerdom.Detail{Entity: "peer", Action: "created", EntityID: ada.ID}))
	if err == nil || !strings.Contains(err.Error(), "cannot tell whether peer") || len(p.Writes()) != 0 {
		t.Fatalf("err = %v, writes = %v", err, p.Writes())
	}
}
