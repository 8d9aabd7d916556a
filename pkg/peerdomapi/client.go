package peerdomapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Peerdom's API.
const DefaultBaseURL = "https://api.peerdom.org/v1"

// maxResponseBytes bounds what the client reads of one answer; a list page is far smaller.
const maxResponseBytes = 32 << 20

// Client calls the Peerdom API with one organization's key. It is safe for concurrent
// use. Time limits come from the caller's context; the client adds none of its own.
type Client struct {
	baseMu sync.Mutex
	base   *url.URL
	moved  string // the base a redirect led to, when the client follows it ("" if none)

	// circles is where circles answered: "/circles" (Peerdom's client) or "/groups"
	// (Pipedream's app); "" until one of them did.
	circlesMu sync.Mutex
	circles   string

	keyMu     sync.Mutex
	key       string
	keySource func(ctx context.Context) (string, error) // nil: the key never changes

	http      *http.Client
	retry     RetryPolicy
	sleep     func(ctx context.Context, d time.Duration) error
	rnd       func(n int64) int64
	now       func() time.Time
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: http.DefaultClient's transport, no timeout).
// Its CheckRedirect is not used: the client follows a redirect itself, only between
// Peerdom's own hosts (see PeerdomHosts), so the key never goes to another host.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithKeySource gives where the key comes from (a secret), so that a key rotated while
// the client lives is picked up: on a 401 the client reads the key again, once, and
// repeats the request with it when it changed. A second 401 fails the call.
func WithKeySource(read func(ctx context.Context) (string, error)) Option {
	return func(c *Client) { c.keySource = read }
}

// WithRetryPolicy sets the retry bounds; zero fields take DefaultRetryPolicy's values.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p.withDefaults() } }

// WithSleep replaces the wait between attempts, so tests can record delays instead of
// sleeping. The function must return early with ctx's error when ctx ends.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// WithUserAgent sets the User-Agent header (default "peerbridge").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New makes a client for the API at baseURL (DefaultBaseURL when empty) with the key.
func New(baseURL, key string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("peerdom api: base URL %q is not an http(s) URL", baseURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		// The key travels in a header: over plain http anyone on the path could read it.
		return nil, fmt.Errorf("peerdom api: base URL %q must be https: plain http is allowed only for a loopback host (127.0.0.1, ::1, localhost), for tests and local sandboxes", baseURL)
	}
	if strings.TrimSpace(key) == "" {
		return nil, errors.New("peerdom api: no API key given")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base: u, key: key, http: http.DefaultClient, retry: DefaultRetryPolicy,
		sleep: sleepContext, rnd: randInt64N, now: time.Now, userAgent: "peerbridge",
	}
	for _, o := range opts {
		o(c)
	}
	c.http = noAutoRedirect(c.http)
	return c, nil
}

// isLoopback reports whether host is this machine: localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// noAutoRedirect returns a copy of h that hands every redirect back to the client
// instead of following it: Go's client forwards custom headers such as X-Api-Key on a
// redirect (it strips only Authorization and cookies), and turns a redirected POST into
// a GET. The client decides itself (see follow).
func noAutoRedirect(h *http.Client) *http.Client {
	cp := *h
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// PeerdomHosts are Peerdom's own API hosts: a redirect from one to another is followed
// with the key (Peerdom's clients use api.peerdom.org; its docs of 2025 name
// api.peerdom.app). A redirect anywhere else is not followed: the key would go with it.
var PeerdomHosts = []string{"api.peerdom.org", "api.peerdom.app"}

func isPeerdomHost(host string) bool {
	for _, h := range PeerdomHosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// trustedRedirect reports whether the key may follow a redirect from one URL to
// another: to the same host (and port), or between Peerdom's hosts over https; never
// from https to http.
func trustedRedirect(from, to *url.URL) bool {
	if from.Scheme == "https" && to.Scheme != "https" {
		return false
	}
	if strings.EqualFold(from.Host, to.Host) {
		return to.Scheme == "https" || isLoopback(to.Hostname())
	}
	return to.Scheme == "https" && isPeerdomHost(from.Hostname()) && isPeerdomHost(to.Hostname())
}

// rebase is the base URL a redirect of a request for path (below the base) points to:
// the target with path cut off its end; false when the target does not end in path.
func rebase(target *url.URL, path string) (*url.URL, bool) {
	if !strings.HasSuffix(target.Path, path) {
		return nil, false
	}
	nb := *target
	nb.Path = strings.TrimSuffix(strings.TrimSuffix(target.Path, path), "/")
	nb.RawPath, nb.RawQuery, nb.Fragment = "", "", ""
	return &nb, true
}

// currentKey is the key requests are sent with now.
func (c *Client) currentKey() string {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	return c.key
}

// rereadKey reads the key again from its source after `refused` was answered 401, and
// reports whether there is a different key to try. Concurrent calls refused the same key
// read it once: the first reads, the others find the key already changed.
func (c *Client) rereadKey(ctx context.Context, refused string) (bool, error) {
	if c.keySource == nil {
		return false, nil
	}
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.key != refused {
		return true, nil
	}
	key, err := c.keySource(ctx)
	if err != nil {
		return false, err
	}
	if strings.TrimSpace(key) == "" || key == refused {
		return false, nil
	}
	c.key = key
	return true, nil
}

// BaseURL is the API base the client calls: the one it was made with, or the one a
// redirect between Peerdom's own hosts moved it to.
func (c *Client) BaseURL() string {
	c.baseMu.Lock()
	defer c.baseMu.Unlock()
	return c.base.String()
}

// Redirected is the base URL a redirect between Peerdom's own hosts moved the client
// to, "" when none did: the URL to configure instead of the one given.
func (c *Client) Redirected() string {
	c.baseMu.Lock()
	defer c.baseMu.Unlock()
	return c.moved
}

func (c *Client) baseURL() url.URL {
	c.baseMu.Lock()
	defer c.baseMu.Unlock()
	return *c.base
}

// Peers is /peers.
func (c *Client) Peers() Resource[Peer, PeerInput] { return resource[Peer, PeerInput](c, "/peers") }

// Roles is /roles.
func (c *Client) Roles() Resource[Role, RoleInput] { return resource[Role, RoleInput](c, "/roles") }

// Groups is the circles: at /circles (Peerdom's own client), or at /groups (Pipedream's
// app, 2025) when /circles is not there. Which of the two the API serves is unverified:
// the first call finds out (a 404 for the collection itself means it is not there) and
// the client remembers the one that answered; CirclesPath says which.
func (c *Client) Groups() Resource[Group, GroupInput] {
	return resource[Group, GroupInput](c, circlesKey)
}

// circlesKey is the collection key of circles; doAt resolves it to a path.
const circlesKey = "/circles"

// circlePaths are the paths circles may be served at, in the order tried.
var circlePaths = []string{"/circles", "/groups"}

// CirclesPath is the path circles answered at ("/circles" or "/groups"), "" when no
// call has found out yet.
func (c *Client) CirclesPath() string {
	c.circlesMu.Lock()
	defer c.circlesMu.Unlock()
	return c.circles
}

// pathOf is a collection's path as it is known now.
func (c *Client) pathOf(coll string) string {
	if coll == circlesKey {
		if p := c.CirclesPath(); p != "" {
			return p
		}
	}
	return coll
}

// doAt is do for coll+suffix (suffix "" or "/{id}"), with the circles' path resolved:
// a call on a path not known yet first finds which one answers. A list request is its
// own probe; an item request lists one circle first, so that a 404 for the item is
// never mistaken for a missing collection (or the other way round).
func (c *Client) doAt(ctx context.Context, method, coll, suffix string, query url.Values, in, out any) error {
	if coll != circlesKey {
		return c.do(ctx, method, coll+suffix, query, in, out)
	}
	if p := c.CirclesPath(); p != "" {
		return c.do(ctx, method, p+suffix, query, in, out)
	}
	var lastErr error
	for _, p := range circlePaths {
		var err error
		if method == http.MethodGet && suffix == "" {
			err = c.do(ctx, method, p, query, in, out)
		} else {
			var probe []json.RawMessage
			err = c.do(ctx, http.MethodGet, p, url.Values{"limit": {"1"}, "offset": {"0"}}, nil, &probe)
		}
		if errors.Is(err, ErrNotFound) {
			lastErr = err
			continue
		}
		if err != nil {
			return err
		}
		c.circlesMu.Lock()
		c.circles = p
		c.circlesMu.Unlock()
		if method == http.MethodGet && suffix == "" {
			return nil
		}
		return c.do(ctx, method, p+suffix, query, in, out)
	}
	var apiErr *Error
	if errors.As(lastErr, &apiErr) {
		apiErr.Stopped = "neither /circles nor /groups is there: check the base URL (Peerdom's is " + DefaultBaseURL + ")"
	}
	return lastErr
}

// Maps is /maps; only the list is known (GET /maps/{id} is unverified).
func (c *Client) Maps() Collection[Map] { return Collection[Map]{c: c, path: "/maps"} }

func resource[T, In any](c *Client, path string) Resource[T, In] {
	return Resource[T, In]{Collection[T]{c: c, path: path}}
}

// AssignPeer assigns a peer to a role (POST /roles/{id}/peers). Any 2xx answer is
// success, whatever its body: the answer's shape is undocumented, so nothing is read from
// it; the role's holders say who holds it. It is a POST: a 5xx answer is not retried,
// because the assignment may already exist; callers check the holders before assigning
// again.
func (c *Client) AssignPeer(ctx context.Context, roleID string, a Assignment) error {
	if err := a.check(); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/roles/"+url.PathEscape(roleID)+"/peers", nil, a, nil)
}

// UnassignPeer removes a peer from a role (DELETE /roles/{id}/peers/{peerId}).
func (c *Client) UnassignPeer(ctx context.Context, roleID, peerID string) error {
	return c.do(ctx, http.MethodDelete, "/roles/"+url.PathEscape(roleID)+"/peers/"+url.PathEscape(peerID), nil, nil, nil)
}

// do sends one call, with retries, and decodes a 2xx JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("peerdom api: %s %s: encoding the request: %w", method, path, err)
		}
	}
	u := c.baseURL()
	u.Path += path
	u.RawQuery = query.Encode()

	mayReread := c.keySource != nil // once per call
	retried := false                // an attempt was repeated after a failure that may have been applied
	redirects := 0
	for attempt := 1; ; attempt++ {
		key := c.currentKey()
		status, header, respBody, err := c.send(ctx, method, &u, body, key)
		if err == nil && status >= 200 && status < 300 {
			return decode(method, u.Path, respBody, out, key)
		}
		if err == nil && isRedirect(status) {
			// A redirect answer did nothing: the request may be sent again where it points.
			next, rerr := c.follow(&u, path, status, header.Get("Location"), redirects)
			if rerr != nil {
				rerr.Method, rerr.Attempts = method, attempt
				return rerr
			}
			u = *next
			redirects++
			attempt--
			continue
		}
		if err == nil && status == http.StatusNotFound && method == http.MethodDelete && retried {
			// An earlier DELETE attempt failed without an answer we could trust, and now
			// the entity is gone: that earlier attempt did it.
			return nil
		}
		apiErr := &Error{Method: method, Path: u.Path, StatusCode: status, Attempts: attempt, Err: err}
		if err == nil {
			apiErr.Body = excerpt(respBody, key)
			apiErr.Message = errorMessage(respBody, key)
		}
		if err == nil && status == http.StatusUnauthorized && c.keySource != nil {
			if !c.rereadAfter401(ctx, key, &mayReread, apiErr) {
				return apiErr
			}
			continue
		}
		decision := decideRetry(method, status, err)
		if !decision.retry {
			apiErr.Stopped = decision.reason
			return apiErr
		}
		if attempt >= c.retry.MaxAttempts {
			apiErr.Stopped = "gave up: the retry limit is reached"
			return apiErr
		}
		if !c.waitToRetry(ctx, attempt, header, apiErr) {
			return apiErr
		}
		retried = true
	}
}

// rereadAfter401 handles a 401 when the key has a source: the key may have been rotated
// since it was read, so it is read again, once a call, and the request repeated (a 401 was
// refused before anything was done, so even a POST is safe to repeat). It says whether to
// repeat; when not, apiErr says why it stopped.
func (c *Client) rereadAfter401(ctx context.Context, key string, mayReread *bool, apiErr *Error) bool {
	if !*mayReread {
		apiErr.Stopped = "refused again with the key read anew from its source: the key there is not valid"
		return false
	}
	*mayReread = false
	changed, kerr := c.rereadKey(ctx, key)
	switch {
	case kerr != nil:
		apiErr.Stopped = "could not read the key again from its source: " + kerr.Error()
		return false
	case !changed:
		apiErr.Stopped = "the key read again from its source is the one refused (or empty): it is not valid"
		return false
	}
	return true
}

// waitToRetry waits before attempt+1: the backoff, or the server's Retry-After when it
// asks for one this client accepts. It says whether to retry; when not (a Retry-After
// too long, the context's deadline or end), apiErr says why it stopped.
func (c *Client) waitToRetry(ctx context.Context, attempt int, header http.Header, apiErr *Error) bool {
	wait := c.retry.backoff(attempt, c.rnd)
	if ra, ok := parseRetryAfter(header.Get("Retry-After"), c.now()); ok {
		apiErr.RetryAfter = ra
		if ra > c.retry.MaxRetryAfter {
			apiErr.Stopped = fmt.Sprintf("server asked to wait %s, more than the %s this client waits", ra, c.retry.MaxRetryAfter)
			return false
		}
		wait = ra
	}
	if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
		apiErr.Stopped = fmt.Sprintf("the next attempt (in %s) would pass the context deadline", wait.Round(time.Millisecond))
		return false
	}
	if err := c.sleep(ctx, wait); err != nil {
		apiErr.Stopped = "context ended while waiting to retry"
		return false
	}
	return true
}

// send makes one HTTP request and reads the whole answer.
func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte, key string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in our own error
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func decode(method, path string, body []byte, out any, key string) error {
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("peerdom api: %s %s: the answer is not the expected JSON (%v): %q", method, path, err, excerpt(body, key))
	}
	return nil
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// follow decides on a redirect of the request u (path below the base): to a trusted
// host (see trustedRedirect) whose target keeps the path, the client moves its base
// there for this and every later call and the request goes again; anywhere else it
// stops with an error naming where the API answered from.
func (c *Client) follow(u *url.URL, path string, status int, location string, hops int) (*url.URL, *Error) {
	fail := &Error{Path: u.Path, StatusCode: status}
	if location == "" {
		fail.Stopped = "a redirect without a Location"
		return nil, fail
	}
	target, err := u.Parse(location)
	if err != nil {
		fail.Stopped = "a redirect to an unreadable Location"
		return nil, fail
	}
	fail.Location = target.Scheme + "://" + target.Host + target.Path
	nb, ok := rebase(target, path)
	if ok {
		fail.SuggestedBase = nb.String()
	}
	switch {
	case hops >= 5:
		fail.Stopped = "stopped after 5 redirects"
		return nil, fail
	case !trustedRedirect(u, target):
		fail.Stopped = "not followed: the key is sent to Peerdom's own hosts only"
		return nil, fail
	case !ok:
		// Trusted, but not the same path on another base: followed for this request only.
		next := *target
		return &next, nil
	}
	c.baseMu.Lock()
	c.base, c.moved = nb, nb.String()
	c.baseMu.Unlock()
	next := *target
	next.RawQuery = u.RawQuery
	return &next, nil
}
