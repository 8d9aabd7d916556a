package peerdomapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestRedirectToAnotherHostIsNotFollowed: the API answers with a redirect to another
// host (two servers on two ports): the client does not follow it, so the other host
// never sees the key, and the error names where the API answered from. A redirect on
// the same host is followed with the key. Whatever the HTTP client's CheckRedirect says.
func TestRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	const key = "sk-must-stay-home"
	var elsewhereCalls atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereCalls.Add(1)
		w.Write([]byte(`[]`))
	}))
	defer elsewhere.Close()
	var homeKeys []string
	var mu sync.Mutex
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		homeKeys = append(homeKeys, r.Header.Get("X-Api-Key"))
		mu.Unlock()
		switch r.URL.Path {
		case "/v1/maps":
			http.Redirect(w, r, elsewhere.URL+"/v1/maps", http.StatusTemporaryRedirect)
		case "/v1/peers":
			http.Redirect(w, r, "/v1/peers-moved", http.StatusTemporaryRedirect)
		default:
			w.Write([]byte(`[]`))
		}
	}))
	defer api.Close()
	for _, hc := range []*http.Client{http.DefaultClient, {CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}} {
		mu.Lock()
		homeKeys = nil
		mu.Unlock()
		c, err := peerdomapi.New(api.URL+"/v1", key, peerdomapi.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Maps().All(context.Background(), peerdomapi.Options{})
		host := strings.TrimPrefix(elsewhere.URL, "http://")
		if !errors.Is(err, peerdomapi.ErrRedirected) || !strings.Contains(err.Error(), "the API answered from "+host+": set PeerdomApiUrl") || !strings.Contains(err.Error(), elsewhere.URL+"/v1") {
			t.Errorf("err = %v, want a redirect error naming %s", err, host)
		}
		if n := elsewhereCalls.Load(); n != 0 {
			t.Errorf("the other host was called %d times", n)
		}
		if _, err := c.Peers().Page(context.Background(), peerdomapi.Options{}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(homeKeys) != 3 || homeKeys[0] != key || homeKeys[1] != key || homeKeys[2] != key {
			t.Errorf("keys the API's host got: %q, want the key on each of its 3 requests", homeKeys)
		}
		mu.Unlock()
		if c.BaseURL() != api.URL+"/v1" {
			t.Errorf("base moved to %s", c.BaseURL())
		}
	}
}

func TestNewRefusesPlainHTTPExceptLoopback(t *testing.T) {
	for _, u := range []string{"http://api.peerdom.org/v1", "http://10.0.0.1/v1", "http://localhost.evil.example/v1"} {
		_, err := peerdomapi.New(u, "k")
		if err == nil || !strings.Contains(err.Error(), "must be https") || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), u) {
			t.Errorf("%s: err = %v, want one naming the URL and the https rule", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:3001/v1", "http://localhost:8080", "http://[::1]:9/v1", "https://api.peerdom.app/v1"} {
		if _, err := peerdomapi.New(u, "k"); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

// TestRotatedKeyIsReadAgainOnce: the client's key was rotated away; the first 401 makes
// it read the key again from its source and repeat the call, which succeeds, and later
// calls use the new key without reading again.
func TestRotatedKeyIsReadAgainOnce(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	var reads atomic.Int32
	source := func(context.Context) (string, error) { reads.Add(1); return s.Config().APIKey, nil }
	c := s.ClientWithKey("sk-rotated-away", peerdomapi.WithKeySource(source))
	ctx := context.Background()
	if _, err := c.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Grace"}); err != nil {
		t.Fatalf("after the key was read again: %v", err)
	}
	if _, err := c.Maps().All(ctx, peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("key read %d times, want once", n)
	}
	if n := countRequests(s, "POST", "/peers"); n != 2 || len(s.Writes()) != 1 {
		t.Errorf("POST /peers sent %d times, %d writes; want 2 sends (401, then 201) and 1 write", n, len(s.Writes()))
	}
}

// TestKeyRefusedAfterRereadFailsClearly: the key read again is refused too (or is the
// same, or cannot be read): the call fails with ErrUnauthorized after at most one
// repeat, saying why, and never quoting a key.
func TestKeyRefusedAfterRereadFailsClearly(t *testing.T) {
	cases := map[string]struct {
		source    func(context.Context) (string, error)
		sends     int
		wantInErr string
	}{
		"another bad key": {func(context.Context) (string, error) { return "sk-also-bad", nil }, 2, "refused again with the key read anew"},
		"the same key":    {func(context.Context) (string, error) { return "sk-bad", nil }, 1, "is the one refused"},
		"source fails":    {func(context.Context) (string, error) { return "", errors.New("AccessDenied") }, 1, "could not read the key again from its source: AccessDenied"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, peerdomtest.Config{})
			c := s.ClientWithKey("sk-bad", peerdomapi.WithKeySource(tc.source))
			_, err := c.Peers().All(context.Background(), peerdomapi.Options{})
			if !errors.Is(err, peerdomapi.ErrUnauthorized) || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("err = %v, want ErrUnauthorized saying %q", err, tc.wantInErr)
			}
			if strings.Contains(err.Error(), "sk-") {
				t.Errorf("the error quotes a key: %v", err)
			}
			if n := countRequests(s, "GET", "/peers"); n != tc.sends {
				t.Errorf("GET /peers sent %d times, want %d", n, tc.sends)
			}
		})
	}
}

// TestConcurrentRefusalsReadTheKeyOnce: 20 calls refused at once read the key once.
func TestConcurrentRefusalsReadTheKeyOnce(t *testing.T) {
	for round := range 20 {
		s := peerdomtest.NewServer(peerdomtest.Config{})
		var reads atomic.Int32
		c := s.ClientWithKey("sk-old", peerdomapi.WithKeySource(func(context.Context) (string, error) {
			reads.Add(1)
			return s.Config().APIKey, nil
		}))
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 20 {
			wg.Go(func() {
				if _, err := c.Maps().All(context.Background(), peerdomapi.Options{}); err != nil {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		s.Close()
		if reads.Load() != 1 || failed.Load() != 0 {
			t.Fatalf("round %d: key read %d times, %d calls failed; want 1 read, 0 failures", round, reads.Load(), failed.Load())
		}
	}
}
