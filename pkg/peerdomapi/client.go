package peerdomapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Peerdom's API.
const DefaultBaseURL = "https://api.peerdom.org/v1"

// maxResponseBytes bounds what the client reads of one answer; a list page is far smaller.
const maxResponseBytes = 32 << 20

// Client calls the Peerdom API with one organization's key. It is safe for concurrent
// use. Time limits come from the caller's context; the client adds none of its own.
type Client struct {
	base      *url.URL
	key       string
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
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

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
	return c, nil
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

	for attempt := 1; ; attempt++ {
		status, header, respBody, err := c.send(ctx, method, &u, body)
		if err == nil && status >= 200 && status < 300 {
			return decode(method, u.Path, respBody, out, c.key)
		}
		if err == nil && status == http.StatusNotFound && method == http.MethodDelete && attempt > 1 {
			// An earlier DELETE attempt failed without an answer we could trust, and now
			// the entity is gone: that earlier attempt did it.
			return nil
		}
		apiErr := &Error{Method: method, Path: u.Path, StatusCode: status, Attempts: attempt, Err: err}
		if err == nil {
			apiErr.Body = excerpt(respBody, c.key)
			apiErr.Message = errorMessage(respBody, c.key)
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
	}
}

// send makes one HTTP request and reads the whole answer.
func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-Api-Key", c.key)
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
