package peerdomapi_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// Each list reads every item once, in order, whichever way the endpoint treats limit
// and offset, and stops on a short page without asking for another.
func TestListEachItemOnceUnderEveryPaging(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       peerdomtest.Config
		wantQuery []string
	}{
		{"paged", peerdomtest.Config{}, []string{"limit=2&offset=0", "limit=2&offset=2", "limit=2&offset=4"}},
		{"offset ignored", peerdomtest.Config{IgnoreOffset: []string{"/roles"}}, []string{"limit=2&offset=0", "limit=2&offset=2", ""}},
		{"paging ignored", peerdomtest.Config{IgnorePaging: []string{"/roles"}}, []string{"limit=2&offset=0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.cfg)
			var want []string
			for _, n := range []string{"A", "B", "C", "D", "E"} {
				want = append(want, s.AddRole(peerdomapi.Role{Name: n}).ID)
			}
			var got []string
			for r, err := range s.Client().Roles().List(context.Background(), peerdomapi.Options{PageSize: 2}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ids = %v, want %v", got, want)
			}
			var queries []string
			for _, r := range s.Requests() {
				queries = append(queries, r.Query)
			}
			if !slices.Equal(queries, tc.wantQuery) {
				t.Fatalf("queries = %q, want %q", queries, tc.wantQuery)
			}
		})
	}
}

// An endpoint that ignores offset and answers fewer items without a limit than one
// page held cannot be read whole: the list fails rather than end short.
func TestListFailsWhenTheWholeListCannotBeRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") == "" {
			_, _ = w.Write([]byte(`[{"id":"1"}]`))
			return
		}
		_, _ = w.Write([]byte(`[{"id":"1"},{"id":"2"}]`))
	}))
	defer srv.Close()
	c, _ := peerdomapi.New(srv.URL, "k")
	n := 0
	var lastErr error
	for _, err := range c.Roles().List(context.Background(), peerdomapi.Options{PageSize: 2}) {
		n++
		lastErr = err
		if n > 10 {
			t.Fatal("list did not stop")
		}
	}
	if n != 3 || lastErr == nil || !strings.Contains(lastErr.Error(), "ignores offset") {
		t.Fatalf("%d items, err = %v", n, lastErr)
	}
}

// Circles are found at /circles or /groups, whichever answers; the client remembers it.
func TestCirclesFallBackAndRemember(t *testing.T) {
	for _, tc := range []struct {
		at       peerdomtest.CirclePaths
		wantPath string
		probes   int // requests to the path that is not there
	}{
		{peerdomtest.CirclesAndGroupsList, "/circles", 0},
		{peerdomtest.CirclesOnly, "/circles", 0},
		{peerdomtest.GroupsOnly, "/groups", 1},
	} {
		s := newServer(t, peerdomtest.Config{Circles: tc.at})
		ops := s.AddGroup(peerdomapi.Group{Name: "Ops"})
		c := s.Client()
		ctx := context.Background()
		// An item read first: the path is found with a one-item list, not from the item's 404.
		g, err := c.Groups().Get(ctx, ops.ID, peerdomapi.Options{})
		if err != nil || g.Name != "Ops" {
			t.Fatalf("%s: get = %+v, %v", tc.wantPath, g, err)
		}
		if _, err := c.Groups().Get(ctx, "00000000-0000-4000-8000-000000000000", peerdomapi.Options{}); !errors.Is(err, peerdomapi.ErrNotFound) {
			t.Fatalf("%s: a missing circle: %v", tc.wantPath, err)
		}
		all, err := c.Groups().All(ctx, peerdomapi.Options{})
		if err != nil || len(all) != 2 { // the root circle and Ops
			t.Fatalf("%s: list = %d, %v", tc.wantPath, len(all), err)
		}
		created, err := c.Groups().Create(ctx, peerdomapi.GroupInput{Name: "New", MapID: s.LiveMap().ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Groups().Delete(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		if c.CirclesPath() != tc.wantPath || c.Groups().Path() != tc.wantPath {
			t.Fatalf("circles path = %q, want %q", c.CirclesPath(), tc.wantPath)
		}
		other := 0
		for _, r := range s.Requests() {
			if !strings.HasPrefix(r.Path, tc.wantPath) {
				other++
			}
		}
		if other != tc.probes {
			t.Fatalf("%s: %d requests elsewhere, want %d: %+v", tc.wantPath, other, tc.probes, s.Requests())
		}
	}
}

// Neither path there: the error says so.
func TestCirclesNeitherPath(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, _ := peerdomapi.New(srv.URL+"/v1", "k")
	_, err := c.Groups().All(context.Background(), peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrNotFound) || !strings.Contains(err.Error(), "neither /circles nor /groups") {
		t.Fatalf("err = %v", err)
	}
}

// The API moved (a 301 to another base on the same host): the client follows it with
// the key, moves its base there for the calls that follow (a write included), and says
// where it went.
func TestMovedAPIIsFollowed(t *testing.T) {
	s := newServer(t, peerdomtest.Config{Moved: true})
	c := s.Client()
	ctx := context.Background()
	if _, err := c.Maps().All(ctx, peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	wantBase := strings.TrimSuffix(s.URL, peerdomtest.APIPrefix) + peerdomtest.MovedPrefix
	if c.BaseURL() != wantBase || c.Redirected() != wantBase {
		t.Fatalf("base = %s, redirected = %s, want %s", c.BaseURL(), c.Redirected(), wantBase)
	}
	moved := 0
	for _, r := range s.Requests() {
		if r.Moved {
			moved++
		}
	}
	if moved != 1 || len(s.Writes()) != 1 {
		t.Fatalf("redirects = %d (want 1: the base moved after the first), writes = %d", moved, len(s.Writes()))
	}
}

// A redirect between Peerdom's own hosts (api.peerdom.org → api.peerdom.app) is followed
// with the key; one to any other host over https is not, and names the host.
func TestRedirectBetweenPeerdomHosts(t *testing.T) {
	var mu sync.Mutex
	keys := map[string][]string{} // host → keys received
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys[r.Host] = append(keys[r.Host], r.Header.Get("X-Api-Key"))
		mu.Unlock()
		switch {
		case r.Host == "api.peerdom.org" && r.URL.Path == "/v1/maps":
			http.Redirect(w, r, "https://api.peerdom.app/v1/maps?"+r.URL.RawQuery, http.StatusMovedPermanently)
		case r.Host == "api.peerdom.org" && r.URL.Path == "/v1/peers":
			http.Redirect(w, r, "https://peerdom.example.net/v1/peers", http.StatusMovedPermanently)
		default:
			_, _ = w.Write([]byte(`[]`))
		}
	}))
	defer srv.Close()
	// Every host name resolves to the test server.
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a test server's certificate
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}}
	c, err := peerdomapi.New("https://api.peerdom.org/v1", "sk-peerdom-only", peerdomapi.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Maps().All(context.Background(), peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}
	if c.Redirected() != "https://api.peerdom.app/v1" {
		t.Fatalf("redirected = %q", c.Redirected())
	}
	c2, _ := peerdomapi.New("https://api.peerdom.org/v1", "sk-peerdom-only", peerdomapi.WithHTTPClient(hc))
	_, err = c2.Peers().All(context.Background(), peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrRedirected) || !strings.Contains(err.Error(), "the API answered from peerdom.example.net: set PeerdomApiUrl (PEERDOM_API_URL, --api-url) to https://peerdom.example.net/v1") {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys["api.peerdom.app"]) != 1 || keys["api.peerdom.app"][0] != "sk-peerdom-only" || len(keys["peerdom.example.net"]) != 0 {
		t.Fatalf("keys by host: %v", keys)
	}
}

// 401, 403 and 404 each say what they mean.
func TestStatusHints(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	ctx := context.Background()
	_, err := s.ClientWithKey("wrong").Maps().All(ctx, peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrUnauthorized) || errors.Is(err, peerdomapi.ErrNoPlan) || !strings.Contains(err.Error(), "the API key was refused") {
		t.Errorf("401: %v", err)
	}
	_, err = s.Client().Roles().Get(ctx, "00000000-0000-4000-8000-000000000000", peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("404: %v", err)
	}
	np := newServer(t, peerdomtest.Config{NoPlan: true})
	_, err = np.Client().Maps().All(ctx, peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrNoPlan) || errors.Is(err, peerdomapi.ErrUnauthorized) || !strings.Contains(err.Error(), "paid plan") {
		t.Errorf("403: %v", err)
	}
}
