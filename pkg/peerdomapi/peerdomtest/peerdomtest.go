// Package peerdomtest is an in-memory Peerdom, served over HTTP like net/http/httptest:
// the REST endpoints of PEERDOM_API.md with a key check, seeding and inspection for tests,
// fault injection (429 with Retry-After, 5xx, delays), and — like the real Peerdom — a
// webhook in the documented Markdown format for every write, POSTed to a URL or handed to
// a Go callback.
//
// Where the real API's behaviour is not documented, the double chooses and says so:
// PUT changes only the keys present in the body (custom fields merge by name); an update
// that changes nothing sends no webhook; assigning a peer twice makes two holders.
package peerdomtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Config sets up a double. Zero fields take the defaults shown.
type Config struct {
	Organization string // "acme": the first path segment of the app links in webhooks
	APIKey       string // "peerdomtest-key"
	OwnerName    string // "Peerbridge Bot": the key owner, author of the webhooks its writes cause
	OwnerEmail   string // "bot@acme.example"
	MapName      string // "Main map": the live map created at start
	AppURL       string // "https://app.peerdom.org"

	// Webhook receives each webhook body ({"text": "..."}), in order, one at a time.
	Webhook func(ctx context.Context, body []byte)
	// WebhookURL, when set, gets each webhook body POSTed to it (after Webhook, if both).
	WebhookURL string

	// MaxPageSize caps a list's limit, as real APIs do (100).
	MaxPageSize int
}

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Organization, "acme")
	def(&c.APIKey, "peerdomtest-key")
	def(&c.OwnerName, "Peerbridge Bot")
	def(&c.OwnerEmail, "bot@acme.example")
	def(&c.MapName, "Main map")
	def(&c.AppURL, "https://app.peerdom.org")
	c.AppURL = strings.TrimSuffix(c.AppURL, "/")
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = 100
	}
	return c
}

// APIPrefix is the path the API is served under, as in https://api.peerdom.org/v1.
const APIPrefix = "/v1"

// Peerdom is the in-memory Peerdom. It is an http.Handler serving the API under
// APIPrefix; NewServer runs it on a local port. Its methods are safe for concurrent use.
type Peerdom struct {
	cfg     Config
	mux     *http.ServeMux
	mu      sync.Mutex
	users   map[string]User // by API key
	peers   table[peerdomapi.Peer]
	roles   table[peerdomapi.Role]
	groups  table[peerdomapi.Group]
	holders table[peerdomapi.Holder]
	maps    table[peerdomapi.Map]
	liveMap string

	faults   []*Fault
	requests []Request
	writes   []Write

	out *outbox
}

// User is the owner of an API key: the author named in the webhooks of its writes.
type User struct {
	Name  string
	Email string
}

// New makes a double with an empty organization but for its live map.
func New(cfg Config) *Peerdom {
	cfg = cfg.withDefaults()
	p := &Peerdom{cfg: cfg, users: map[string]User{cfg.APIKey: {Name: cfg.OwnerName, Email: cfg.OwnerEmail}}}
	p.liveMap = p.AddMap(peerdomapi.Map{Name: cfg.MapName}).ID
	p.routes()
	p.out = newOutbox(cfg.Webhook, cfg.WebhookURL)
	return p
}

// Config is the configuration in force, defaults filled in.
func (p *Peerdom) Config() Config { return p.cfg }

// AddKey lets another person use the API, e.g. a human whose changes an action reacts to.
func (p *Peerdom) AddKey(key string, u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[key] = u
}

// WaitWebhooks waits until every webhook so far has been delivered, including those that
// deliveries caused in turn, or until ctx ends.
func (p *Peerdom) WaitWebhooks(ctx context.Context) error { return p.out.waitIdle(ctx) }

// Webhooks returns the text of every webhook sent so far, in order.
func (p *Peerdom) Webhooks() []string { return p.out.sent() }

// WebhookErrors returns the failures of POSTs to WebhookURL.
func (p *Peerdom) WebhookErrors() []error { return p.out.errors() }

// Close stops webhook delivery (an undelivered webhook is dropped) and waits for a
// delivery in progress to end; the context it was given is cancelled.
func (p *Peerdom) Close() { p.out.close() }

// Server is a Peerdom double listening on a local port.
type Server struct {
	*Peerdom
	// URL is the API base URL, e.g. http://127.0.0.1:PORT/v1: give it to peerdomapi.New.
	URL string
	srv *httptest.Server
}

// NewServer starts a double on a loopback port. Close it when done.
func NewServer(cfg Config) *Server {
	p := New(cfg)
	srv := httptest.NewServer(p)
	return &Server{Peerdom: p, URL: srv.URL + APIPrefix, srv: srv}
}

// Client returns an API client for this server with its configured key. Options are
// passed on (e.g. a retry policy or a recording sleeper).
func (s *Server) Client(opts ...peerdomapi.Option) *peerdomapi.Client {
	return s.ClientWithKey(s.cfg.APIKey, opts...)
}

// ClientWithKey is Client with another key (see AddKey).
func (s *Server) ClientWithKey(key string, opts ...peerdomapi.Option) *peerdomapi.Client {
	c, err := peerdomapi.New(s.URL, key, opts...)
	if err != nil {
		panic(err) // the URL is ours and the key was given: cannot happen
	}
	return c
}

// Close stops webhook delivery, then the HTTP server.
func (s *Server) Close() {
	s.Peerdom.Close()
	s.srv.Close()
}

func nowString() string { return time.Now().UTC().Format(time.RFC3339) }
