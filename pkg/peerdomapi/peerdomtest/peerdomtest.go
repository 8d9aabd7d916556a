// Package peerdomtest is an in-memory Peerdom, served over HTTP like net/http/httptest:
// the REST endpoints docs/peerdom-api.md documents or Peerdom's own clients confirm, as
// strict as the real API is known to be, with seeding and inspection for tests, fault
// injection (429 with Retry-After, 5xx, delays, lost webhooks), and — like the real
// Peerdom — a webhook in the documented Markdown format for every write, POSTed to a
// URL or handed to a Go callback.
//
// Strict: it serves only /peers, /roles (with /roles/{id}/peers to assign and unassign),
// /circles and GET /groups (or one of them: Config.Circles) and GET /maps; anything
// else, /holders included, is a 404. It
// answers 400 with {"message": "..."} for what the API refuses: a peer without
// firstName, custom fields sent as an array instead of an object keyed by field name, a
// limit outside 1–100. Roles come without mapId; peer lists hold active peers unless
// includeFormer=true; POST /peers takes one object or (API 0.6.0) an array, created all
// or nothing.
//
// Its defaults follow Peerdom's own client: lists are JSON arrays (every item when no
// limit is given), every success has a JSON body, a root circle has no parentId, maps
// carry draft.
//
// Where the API's behaviour is unverified, Config chooses (Alternatives lists each
// choice, for tests that must hold under all of them): built-in fields inside or
// outside customFields, PUT merging or replacing custom fields, parentId required on
// updates, a root circle or none, the bodies that answer an assignment, unassignment or
// DELETE (JSON or empty), offset or limit ignored per collection, circles at /circles or
// /groups only, role reads without holders, typed custom fields refused as text, the API
// moved to another base (a 301). Refusals lists the settings under which nothing works
// (no plan: 403), for tests of the messages. Choices the double makes
// on its own: a key it does not know in a request body is ignored; an update that
// changes nothing sends no webhook; assigning a peer twice makes two holders.
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

	// MaxPageSize caps a list's limit below the API's 100, as a server may (default 100).
	// A list asked for without a limit answers every item, as Peerdom's own client,
	// which sends none, expects.
	MaxPageSize int

	// The unverified alternatives; the zero value of each is the first choice.

	// Builtins is where roles and circles keep Purpose, Accountabilities and Notes.
	Builtins BuiltinPlacement
	// PutCustomFields is what a PUT's customFields do to the fields it does not name.
	PutCustomFields PutCustomFields
	// RequireParentID refuses a PUT on a role or circle that has a parent unless the
	// body names it (Pipedream always sends parentId: it may be required).
	RequireParentID bool
	// RootCircle is the name of the root circle (no parentId) made at start (default
	// "Root": Peerdom's own client finds the root as the circle without parentId).
	RootCircle string
	// NoRootCircle makes no root circle at start.
	NoRootCircle bool
	// AssignAnswer is the answer to a successful assignment (default 201 with the role,
	// as JSON): its body is undocumented, so clients must not depend on it.
	AssignAnswer AssignAnswer

	// IgnoreOffset lists the collections ("/peers", "/roles", "/circles", "/groups",
	// "/maps") whose list ignores offset but honours limit: every page is the first.
	IgnoreOffset []string
	// IgnorePaging lists the collections whose list ignores limit and offset: every
	// request answers the whole list.
	IgnorePaging []string
	// Circles is where circles are served (default: /circles, and GET /groups lists).
	Circles CirclePaths
	// RoleReadWithoutHolders leaves holders out of GET /roles/{id} (lists carry them).
	RoleReadWithoutHolders bool
	// TypedFieldsStrict refuses a typed custom field written as text: a "number" field
	// takes a JSON number, a "boolean" one true or false, a multi-entry one an array.
	TypedFieldsStrict bool
	// EmptySuccessBodies answers DELETE, assignment and unassignment with no body (204,
	// 201, 204) instead of JSON.
	EmptySuccessBodies bool
	// Moved answers every request under /v1 with a 301 to the same request under
	// MovedPrefix, where the API is served: the API moved from the base a client was
	// given to another one, as from api.peerdom.org/v1 to api.peerdom.app/v1.
	Moved bool
	// NoPlan answers every request with a valid key 403: the organization has no plan
	// that includes the API. Nothing works: see Refusals.
	NoPlan bool
	// KeepRecords, when above 0, bounds the requests and writes kept for Requests and
	// Writes: the latest KeepRecords of each at least, fewer than twice that, so that a
	// long-running sandbox (peerbridge serve's) keeps a flat memory; 0 keeps every one.
	KeepRecords int
}

// CirclePaths is where the double serves circles.
type CirclePaths int

const (
	// CirclesAndGroupsList: /circles for everything, and GET /groups lists them too.
	CirclesAndGroupsList CirclePaths = iota
	// CirclesOnly: /circles; /groups is a 404.
	CirclesOnly
	// GroupsOnly: /groups for everything (list, get, create, update, delete); /circles
	// is a 404.
	GroupsOnly
)

// MovedPrefix is where the API is served when Config.Moved is set.
const MovedPrefix = "/moved/v1"

// BuiltinPlacement is where the built-in fields (Purpose, Accountabilities, Notes) are.
type BuiltinPlacement int

const (
	// BuiltinsInCustomFields: entries of customFields, written through customFields.
	BuiltinsInCustomFields BuiltinPlacement = iota
	// BuiltinsAsAttributes: attributes of their own ("purpose": "…"), always present on a
	// role or circle ("" when empty), written as attributes; customFields entries with
	// their names are ordinary custom fields.
	BuiltinsAsAttributes
)

// PutCustomFields is what an update's customFields object does.
type PutCustomFields int

const (
	// MergeCustomFields: the fields named are set, the others kept.
	MergeCustomFields PutCustomFields = iota
	// ReplaceCustomFields: the fields named are all there is; the others are emptied.
	ReplaceCustomFields
)

// AssignAnswer is the status and body answering POST /roles/{id}/peers.
type AssignAnswer struct {
	Status int    // default 201
	Body   string // sent as it is; "" sends no body
}

// Alternative is one unverified behaviour of the API, as Config settings.
type Alternative struct {
	Name  string
	Apply func(*Config)
}

// Alternatives are the double's settings for each unverified behaviour, the defaults
// first: a test of an API client runs under each of them.
func Alternatives() []Alternative {
	return []Alternative{
		{"defaults", func(*Config) {}},
		{"built-in fields as attributes", func(c *Config) { c.Builtins = BuiltinsAsAttributes }},
		{"PUT replaces custom fields", func(c *Config) { c.PutCustomFields = ReplaceCustomFields }},
		{"built-ins as attributes, PUT replaces", func(c *Config) {
			c.Builtins, c.PutCustomFields = BuiltinsAsAttributes, ReplaceCustomFields
		}},
		{"parentId required", func(c *Config) { c.RequireParentID = true }},
		{"assignment answered {}", func(c *Config) { c.AssignAnswer = AssignAnswer{Status: 200, Body: "{}"} }},
		{"assignment answered with text", func(c *Config) { c.AssignAnswer = AssignAnswer{Status: 200, Body: "OK"} }},
		{"assignment answered with an odd body", func(c *Config) {
			c.AssignAnswer = AssignAnswer{Status: 201, Body: `{"id":"not-a-holder","name":"x","holders":"?"}`}
		}},
		{"empty bodies on success", func(c *Config) { c.EmptySuccessBodies = true }},
		{"offset ignored by roles, circles and maps", func(c *Config) {
			c.IgnoreOffset = []string{"/roles", "/circles", "/groups", "/maps"}
		}},
		{"paging ignored by every list", func(c *Config) {
			c.IgnorePaging = []string{"/peers", "/roles", "/circles", "/groups", "/maps"}
		}},
		{"circles at /groups only", func(c *Config) { c.Circles = GroupsOnly }},
		{"circles at /circles only", func(c *Config) { c.Circles = CirclesOnly }},
		{"role read without holders", func(c *Config) { c.RoleReadWithoutHolders = true }},
		{"typed custom fields refused as text", func(c *Config) { c.TypedFieldsStrict = true }},
		{"typed fields strict, PUT replaces", func(c *Config) {
			c.TypedFieldsStrict, c.PutCustomFields = true, ReplaceCustomFields
		}},
		{"API moved (301 to another base)", func(c *Config) { c.Moved = true }},
		{"no root circle", func(c *Config) { c.NoRootCircle = true }},
	}
}

// Refusals are settings under which peerbridge cannot work and must say why: a test
// checks that the message names the cause.
func Refusals() []Alternative {
	return []Alternative{
		{"no plan (403)", func(c *Config) { c.NoPlan = true }},
	}
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
	if c.MaxPageSize <= 0 || c.MaxPageSize > peerdomapi.MaxPageSize {
		c.MaxPageSize = peerdomapi.MaxPageSize
	}
	if c.AssignAnswer.Status == 0 {
		c.AssignAnswer.Status = http.StatusCreated
	}
	if c.RootCircle == "" && !c.NoRootCircle {
		c.RootCircle = "Root"
	}
	if c.NoRootCircle {
		c.RootCircle = ""
	}
	return c
}

// APIPrefix is the path the API is served under, as in https://api.peerdom.org/v1.
const APIPrefix = "/v1"

// Peerdom is the in-memory Peerdom. It is an http.Handler serving the API under
// APIPrefix; NewServer runs it on a local port. Its methods are safe for concurrent use.
type Peerdom struct {
	cfg   Config
	mux   *http.ServeMux
	mu    sync.Mutex
	users map[string]User // by API key

	peers   *collection[peerdomapi.Peer]
	roles   *collection[peerdomapi.Role]
	circles *collection[peerdomapi.Group]
	maps    *collection[peerdomapi.Map]
	holders []Holder
	liveMap string
	root    string // the root circle's id, when Config.RootCircle is set

	faults       []*Fault
	requests     []Request
	writes       []Write
	dropWebhooks int
	dropped      []string

	out *outbox
}

// User is the owner of an API key: the author named in the webhooks of its writes.
type User struct {
	Name  string
	Email string
}

// New makes a double with an empty organization but for its live map (and the root
// circle, when configured).
func New(cfg Config) *Peerdom {
	cfg = cfg.withDefaults()
	p := &Peerdom{cfg: cfg, users: map[string]User{cfg.APIKey: {Name: cfg.OwnerName, Email: cfg.OwnerEmail}}}
	p.peers = newCollection[peerdomapi.Peer](p, p.peerKind())
	p.roles = newCollection[peerdomapi.Role](p, p.roleKind())
	p.circles = newCollection[peerdomapi.Group](p, p.circleKind())
	p.maps = newCollection[peerdomapi.Map](p, p.mapKind())
	p.liveMap = p.AddMap(peerdomapi.Map{Name: cfg.MapName}).ID
	if cfg.RootCircle != "" {
		p.root = p.AddGroup(peerdomapi.Group{Name: cfg.RootCircle}).ID
	}
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

// RevokeKey makes the API refuse key (401) from now on, as when an Owner deletes it
// after a rotation.
func (p *Peerdom) RevokeKey(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.users, key)
}

// WaitWebhooks waits until every webhook so far has been delivered, including those that
// deliveries caused in turn, or until ctx ends.
func (p *Peerdom) WaitWebhooks(ctx context.Context) error { return p.out.waitIdle(ctx) }

// Webhooks returns the text of every webhook sent so far, in order.
func (p *Peerdom) Webhooks() []string { return p.out.sent() }

// WebhookErrors returns the failures of POSTs to WebhookURL.
func (p *Peerdom) WebhookErrors() []error { return p.out.errors() }

// DropWebhooks makes the double lose the next n webhooks its writes cause, as a webhook
// Peerdom never delivers: the write is done, no one hears of it.
func (p *Peerdom) DropWebhooks(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropWebhooks += n
}

// DroppedWebhooks returns the texts of the webhooks lost by DropWebhooks, in order.
func (p *Peerdom) DroppedWebhooks() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dropped...)
}

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
