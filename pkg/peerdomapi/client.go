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
	base *url.URL

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
// Whatever its CheckRedirect, the key is never sent on to another host.
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
	c.http = keepKeyOnHost(c.http)
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

// keepKeyOnHost returns a copy of h that drops the X-Api-Key header from a redirected
// request going to another host, or from https to http. Go's client forwards custom
// headers on every redirect (it strips only Authorization and cookies), so without this
// a redirect would hand the key to whoever the API points at.
func keepKeyOnHost(h *http.Client) *http.Client {
	cp := *h
	next := h.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
			req.Header.Del("X-Api-Key")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
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

// BaseURL is the API base the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// Peers is /peers.
func (c *Client) Peers() Resource[Peer, PeerInput] { return resource[Peer, PeerInput](c, "/peers") }

// Roles is /roles.
func (c *Client) Roles() Resource[Role, RoleInput] { return resource[Role, RoleInput](c, "/roles") }

// Groups is /circles: Peerdom's own client reads and writes circles there. (Pipedream
// lists them at GET /groups, but /groups/{id} is unverified, so one path serves all.)
func (c *Client) Groups() Resource[Group, GroupInput] {
	return resource[Group, GroupInput](c, "/circles")
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
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()

	mayReread := c.keySource != nil // once per call
	retried := false                // an attempt was repeated after a failure that may have been applied
	for attempt := 1; ; attempt++ {
		key := c.currentKey()
		status, header, respBody, err := c.send(ctx, method, &u, body, key)
		if err == nil && status >= 200 && status < 300 {
			return decode(method, u.Path, respBody, out, key)
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
			// The key may have been rotated since it was read: read it again, once, and
			// repeat the request (a 401 was refused before anything was done, so even a
			// POST is safe to repeat).
			if !mayReread {
				apiErr.Stopped = "refused again with the key read anew from its source: the key there is not valid"
				return apiErr
			}
			mayReread = false
			changed, kerr := c.rereadKey(ctx, key)
			switch {
			case kerr != nil:
				apiErr.Stopped = "could not read the key again from its source: " + kerr.Error()
				return apiErr
			case !changed:
				apiErr.Stopped = "the key read again from its source is the one refused (or empty): it is not valid"
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
		wait := c.retry.backoff(attempt, c.rnd)
		if ra, ok := parseRetryAfter(header.Get("Retry-After"), c.now()); ok {
			apiErr.RetryAfter = ra
			if ra > c.retry.MaxRetryAfter {
				apiErr.Stopped = fmt.Sprintf("server asked to wait %s, more than the %s this client waits", ra, c.retry.MaxRetryAfter)
				return apiErr
			}
			wait = ra
		}
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			apiErr.Stopped = fmt.Sprintf("the next attempt (in %s) would pass the context deadline", wait.Round(time.Millisecond))
			return apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			apiErr.Stopped = "context ended while waiting to retry"
			return apiErr
		}
		retried = true
	}
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
