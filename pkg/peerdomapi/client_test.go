package peerdomapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// recordingSleeper replaces the wait between attempts: it records each requested delay
// and returns at once, so retry tests take no real time.
type recordingSleeper struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *recordingSleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
	return ctx.Err()
}

func (s *recordingSleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

func newServer(t *testing.T, cfg peerdomtest.Config) *peerdomtest.Server {
	t.Helper()
	s := peerdomtest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

func countRequests(s *peerdomtest.Server, method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

func TestCRUDRoundTrip(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	c := s.Client()
	ctx := context.Background()

	pct := 80
	created, err := c.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Ada", LastName: "Lovelace", Percentage: &pct,
		CustomFields: peerdomapi.CustomFieldValues{"Skills": {"Maths"}}})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.FullName() != "Ada Lovelace" || created.Contribution == nil || *created.Contribution != 80 {
		t.Fatalf("created = %+v", created)
	}

	got, err := c.Peers().Get(ctx, created.ID, peerdomapi.Options{CustomFields: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := peerdomapi.FieldValues(got.CustomFields, "skills"); !slices.Equal(v, []string{"Maths"}) {
		t.Errorf("custom fields with=customfields: %+v", got.CustomFields)
	}
	plain, err := c.Peers().Get(ctx, created.ID, peerdomapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.CustomFields != nil {
		t.Errorf("custom fields came without with=customfields: %+v", plain.CustomFields)
	}

	updated, err := c.Peers().Update(ctx, created.ID, peerdomapi.PeerInput{NickName: "Countess"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.NickName != "Countess" || updated.FirstName != "Ada" {
		t.Errorf("update replaced more than it set: %+v", updated)
	}

	if err := c.Peers().Delete(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.Peers().Get(ctx, created.ID, peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Method != "GET" ||
		apiErr.Path != "/v1/peers/"+created.ID || !strings.Contains(apiErr.Body, "peer not found") {
		t.Fatalf("error = %#v", err)
	}
	for _, r := range s.Requests() {
		if r.Author != s.Config().OwnerEmail {
			t.Errorf("request %s %s not made with the key", r.Method, r.Path)
		}
	}
}

func TestAssignPeerAndRoleHolders(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	ctx := context.Background()
	peer := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"})
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	c := s.Client()
	pct := 50
	if err := c.AssignPeer(ctx, role.ID, peerdomapi.Assignment{PeerID: peer.ID, Percentage: &pct, Focus: "notes", ElectedUntil: "2027-06-30"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Roles().Get(ctx, role.ID, peerdomapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.HeldBy(peer.ID) || *got.Holders[0].Contribution != 50 {
		t.Fatalf("role holders = %+v", got.Holders)
	}
	h := s.Holders()
	if len(h) != 1 || h[0].Focus != "notes" || h[0].ElectedUntil != "2027-06-30" {
		t.Fatalf("stored holders = %+v", h)
	}
	if err := c.UnassignPeer(ctx, role.ID, peer.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Roles().Get(ctx, role.ID, peerdomapi.Options{}); got.HeldBy(peer.ID) {
		t.Fatalf("still held after unassign: %+v", got.Holders)
	}
	if err := c.UnassignPeer(ctx, role.ID, peer.ID); !errors.Is(err, peerdomapi.ErrNotFound) {
		t.Fatalf("unassigning again: %v, want ErrNotFound", err)
	}
}

func TestListPaginatesEveryPage(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	var want []string
	for _, n := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		want = append(want, s.AddRole(peerdomapi.Role{Name: n}).ID)
	}
	var got []string
	for r, err := range s.Client().Roles().List(context.Background(), peerdomapi.Options{PageSize: 3}) {
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
	// 7 items by 3: the third page is short, and the last.
	wantQ := []string{"limit=3&offset=0", "limit=3&offset=3", "limit=3&offset=6"}
	if !slices.Equal(queries, wantQ) {
		t.Fatalf("queries = %v, want %v", queries, wantQ)
	}
}

func TestListRawKeepsUnknownFields(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") != "0" {
			_, _ = w.Write([]byte(`[]`))
			return
		}
		_, _ = w.Write([]byte(`[{"id":"1","name":"x","futureField":{"a":1}}]`))
	}))
	defer srv.Close()
	c, _ := peerdomapi.New(srv.URL, "k")
	for raw, err := range c.Roles().ListRaw(context.Background(), peerdomapi.Options{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"futureField":{"a":1}`) {
			t.Fatalf("raw = %s", raw)
		}
	}
}

func TestBadKeyIsUnauthorizedAndNeverQuoted(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	const key = "sk-secret-123456"
	c := s.ClientWithKey(key)
	_, err := c.Peers().All(context.Background(), peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), key) {
		t.Fatalf("error quotes the key: %v", err)
	}
	if countRequests(s, "GET", "/peers") != 1 {
		t.Fatalf("a refused key was retried")
	}
}

func TestErrorBodyExcerptIsShortAndRedacted(t *testing.T) {
	s := newServer(t, peerdomtest.Config{APIKey: "sk-echoed-key"})
	s.InjectFault(peerdomtest.Fault{Status: 400, Body: "bad request from key sk-echoed-key " + strings.Repeat("é", 500)})
	_, err := s.Client().Maps().All(context.Background(), peerdomapi.Options{})
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "sk-echoed-key") || !strings.Contains(apiErr.Body, "[redacted]") {
		t.Fatalf("key not redacted: %v", err)
	}
	if len(apiErr.Body) > 210 || !strings.HasSuffix(apiErr.Body, "…") {
		t.Fatalf("excerpt of %d bytes: %q", len(apiErr.Body), apiErr.Body)
	}
}

func TestRetry429ThenSuccessHonoursRetryAfter(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	s.InjectFault(peerdomtest.Fault{Status: 429, RetryAfter: "1"})
	sl := &recordingSleeper{}
	c := s.Client(peerdomapi.WithSleep(sl.sleep))
	peers, err := c.Peers().Page(context.Background(), peerdomapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 {
		t.Fatalf("peers = %+v", peers)
	}
	if got := sl.got(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Fatalf("waits = %v, want [1s] (the Retry-After)", got)
	}
	if n := countRequests(s, "GET", "/peers"); n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}
}

func TestRetry429OnPostCreatesOnce(t *testing.T) {
	// 429 means the request was refused before being processed: a POST is safe to repeat.
	s := newServer(t, peerdomtest.Config{})
	s.InjectFault(peerdomtest.Fault{Method: "POST", Status: 429, Times: 2})
	sl := &recordingSleeper{}
	c := s.Client(peerdomapi.WithSleep(sl.sleep))
	if _, err := c.Peers().Create(context.Background(), peerdomapi.PeerInput{FirstName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Writes()) != 1 || countRequests(s, "POST", "/peers") != 3 {
		t.Fatalf("writes = %v, posts = %d", s.Writes(), countRequests(s, "POST", "/peers"))
	}
	// No Retry-After: exponential backoff with jitter, in [d/2, d] of 250ms, 500ms.
	got := sl.got()
	if len(got) != 2 || got[0] < 125*time.Millisecond || got[0] > 250*time.Millisecond ||
		got[1] < 250*time.Millisecond || got[1] > 500*time.Millisecond {
		t.Fatalf("waits = %v", got)
	}
}

func TestRetry5xxExhaustion(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	s.InjectFault(peerdomtest.Fault{Method: "GET", Status: 500, Times: 100})
	sl := &recordingSleeper{}
	c := s.Client(peerdomapi.WithSleep(sl.sleep), peerdomapi.WithRetryPolicy(peerdomapi.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond}))
	_, err := c.Roles().Page(context.Background(), peerdomapi.Options{})
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Attempts != 3 {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "(after 3 attempts) (gave up: the retry limit is reached)") {
		t.Fatalf("message: %v", err)
	}
	if n := countRequests(s, "GET", "/roles"); n != 3 {
		t.Fatalf("requests = %d, want 3", n)
	}
	if len(sl.got()) != 2 {
		t.Fatalf("waits = %v, want 2", sl.got())
	}
}

func TestPutRetriedAfter503(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	s.InjectFault(peerdomtest.Fault{Method: "PUT", Status: 503, Apply: true})
	sl := &recordingSleeper{}
	c := s.Client(peerdomapi.WithSleep(sl.sleep))
	got, err := c.Roles().Update(context.Background(), role.ID, peerdomapi.RoleInput{Color: "#ff0000"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Color != "#ff0000" || len(s.Writes()) != 2 {
		t.Fatalf("role = %+v, writes = %d", got, len(s.Writes()))
	}
}

func TestPostAnswered5xxIsNotRepeated(t *testing.T) {
	// The server applies the assignment, then fails: repeating would assign twice.
	s := newServer(t, peerdomtest.Config{})
	peer := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	s.InjectFault(peerdomtest.Fault{Method: "POST", Status: 502, Apply: true})
	sl := &recordingSleeper{}
	c := s.Client(peerdomapi.WithSleep(sl.sleep))
	err := c.AssignPeer(context.Background(), role.ID, peerdomapi.Assignment{PeerID: peer.ID})
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Attempts != 1 {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "may have been applied") {
		t.Fatalf("message does not say why: %v", err)
	}
	if len(s.Holders()) != 1 || len(sl.got()) != 0 {
		t.Fatalf("holders = %d, waits = %v", len(s.Holders()), sl.got())
	}
}

func TestDeleteRetriedAfterAppliedFailureSucceeds(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	peer := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	s.InjectFault(peerdomtest.Fault{Method: "DELETE", Status: 500, Apply: true})
	sl := &recordingSleeper{}
	if err := s.Client(peerdomapi.WithSleep(sl.sleep)).Peers().Delete(context.Background(), peer.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok := s.Peer(peer.ID); ok {
		t.Fatal("peer still there")
	}
	if n := countRequests(s, "DELETE", "/peers/"+peer.ID); n != 2 {
		t.Fatalf("deletes = %d, want 2", n)
	}
}

func TestRetryNeverPassesTheDeadline(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	s.InjectFault(peerdomtest.Fault{Status: 429, RetryAfter: "10"})
	sl := &recordingSleeper{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := s.Client(peerdomapi.WithSleep(sl.sleep)).Maps().Page(ctx, peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrRateLimited) || !strings.Contains(err.Error(), "context deadline") {
		t.Fatalf("err = %v", err)
	}
	var apiErr *peerdomapi.Error
	if errors.As(err, &apiErr); apiErr.RetryAfter != 10*time.Second {
		t.Fatalf("RetryAfter = %v", apiErr.RetryAfter)
	}
	if len(sl.got()) != 0 {
		t.Fatalf("slept %v although the deadline was nearer", sl.got())
	}
}

func TestRetryAfterAboveTheBoundIsNotWaited(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	s.InjectFault(peerdomtest.Fault{Status: 429, RetryAfter: "120"})
	sl := &recordingSleeper{}
	_, err := s.Client(peerdomapi.WithSleep(sl.sleep)).Maps().Page(context.Background(), peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrRateLimited) || len(sl.got()) != 0 {
		t.Fatalf("err = %v, waits = %v", err, sl.got())
	}
}

func TestRealSleepHonoursRetryAfter(t *testing.T) {
	// One test with the real clock: the client really waits the Retry-After second.
	s := newServer(t, peerdomtest.Config{})
	s.InjectFault(peerdomtest.Fault{Status: 429, RetryAfter: "1"})
	start := time.Now()
	if _, err := s.Client().Maps().Page(context.Background(), peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("retried after %v, before the Retry-After second", el)
	}
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	sl := &recordingSleeper{}
	c, _ := peerdomapi.New(url, "k", peerdomapi.WithSleep(sl.sleep), peerdomapi.WithRetryPolicy(peerdomapi.RetryPolicy{MaxAttempts: 3}))
	_, err := c.Peers().Create(context.Background(), peerdomapi.PeerInput{FirstName: "Ada"})
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 0 || apiErr.Attempts != 3 || apiErr.Err == nil {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("message: %v", err)
	}
}

func TestTimeoutComesFromTheContext(t *testing.T) {
	s := newServer(t, peerdomtest.Config{})
	s.InjectFault(peerdomtest.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Client().Peers().Page(ctx, peerdomapi.Options{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := peerdomapi.New("ftp://x", "k"); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := peerdomapi.New("", " "); err == nil {
		t.Error("blank key accepted")
	}
	c, err := peerdomapi.New("", "k")
	if err != nil || c.BaseURL() != peerdomapi.DefaultBaseURL {
		t.Errorf("default base = %v, %v", c, err)
	}
}
