package serve

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/console"
	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/localpipeline/boltstore"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// Options are serve's flags.
type Options struct {
	Addr        string
	SandboxAddr string
	Token       string
	Template    string
	Params      map[string]string
	EventsOut   string
	PeerdomURL  string // empty: the in-memory sandbox
	APIKey      string // with peerdomURL
	LogLevel    string
	DrainFor    time.Duration
	NoActions   bool // route and show events, call no action
	MaxBacklog  int  // the in-memory queue's bound; beyond it ingest answers 503
	MaxConns    int  // open connections to the webhook endpoint at once
	Spill       string
	AWSAddr     string // the local AWS endpoint for functions run under the emulator; empty: none
	Watch       bool   // rebuild a function run under the emulator when its code changes
	// ReconcileEvery is how often reconciliation runs (0: never); its first run, at start,
	// records the baseline.
	ReconcileEvery time.Duration
	// RecordsKept is how many records of the pipeline's (internal/observe) serve keeps for
	// the console; 0: observe.DefaultSize.
	RecordsKept int
	AdminAddr   string // the admin endpoint for status and dlq --local (serve_admin.go); empty: none
	NoAdminFile bool   // invoke's own twins: no other command is to find them
	// DataDir holds the durable store (serve_store.go); empty: everything in memory
	// (--in-memory, and the tests that build a stack directly).
	DataDir string
	// MaxPending bounds the action stage; 0: DefaultMaxPending.
	MaxPending int
	Replay     string // a spill file to restore before serving

	// For tests; zero values mean the defaults below.
	Listen       func(network, addr string) (net.Listener, error)
	BusHook      func(*membus.Bus) // e.g. to set fault hooks
	HTTPShutdown time.Duration     // how long open requests get at shutdown before being cut
	Timeouts     ServerTimeouts
}

// ServerTimeouts are the webhook and sandbox servers' timeouts.
type ServerTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// Defaults of serve's servers: a webhook is a small POST, so a client that takes longer
// than these is stalled or hostile.
var defaultTimeouts = ServerTimeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 60 * time.Second}

// DefaultAddr is the webhook endpoint's default address (serve --addr), where
// `peerbridge send` posts by default.
const DefaultAddr = "127.0.0.1:3000"

const (
	defaultHTTPShutdown = 5 * time.Second
	DefaultMaxBacklog   = 10000
	DefaultMaxConns     = 512
	DefaultMaxPending   = 2000
)

func (t ServerTimeouts) server(h http.Handler) *http.Server {
	d := func(v, def time.Duration) time.Duration { return cmp.Or(v, def) }
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: d(t.ReadHeader, defaultTimeouts.ReadHeader),
		ReadTimeout:       d(t.Read, defaultTimeouts.Read),
		WriteTimeout:      d(t.Write, defaultTimeouts.Write),
		IdleTimeout:       d(t.Idle, defaultTimeouts.Idle),
	}
}

// Run serves with opts until ctx ends (or a server stops by itself), then finishes the
// accepted work for at most opts.DrainFor and says what was left. It returns the exit
// status: 0, or 1 when serve could not start, stopped by itself, or left work undelivered.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) int {
	defer setServeGC()()
	stack, err := Start(ctx, opts, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge serve: %v\n", err)
		return 1
	}
	status := 0
	select {
	case <-ctx.Done():
	case err := <-stack.done: // a server stopped by itself: finish what was accepted, then exit
		fmt.Fprintf(stderr, "peerbridge serve: %v\n", err)
		status = 1
	}
	fmt.Fprintln(stdout, "\nshutting down: finishing accepted work…")
	res, err := stack.Stop(opts.DrainFor)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge serve: %v\n", err)
		status = 1
	}
	if res.Spilled > 0 {
		fmt.Fprintf(stderr, "peerbridge serve: %d undelivered item(s) written to %s; restore them with: peerbridge serve --replay %s\n", res.Spilled, res.SpillFile, res.SpillFile)
		status = 1
	}
	if res.Lost > 0 {
		fmt.Fprintf(stderr, "peerbridge serve: %d accepted item(s) lost (not on the bus, not in a spill file)\n", res.Lost)
		status = 1
	}
	return status
}

// Stack is a running local pipeline: the webhook server, the pipeline, the Peerdom side.
type Stack struct {
	opts       Options
	pipeline   *localpipeline.Pipeline
	webhooks   http.Handler // the pipeline's endpoint, for the server and the sandbox
	server     *http.Server
	handlers   sync.WaitGroup // the server's requests being handled
	webhookURL string         // http://addr/webhooks/<token>
	sandbox    *peerdomtest.Peerdom
	sandboxSrv *http.Server
	sandboxURL string // its API base URL
	display    *display
	cancel     context.CancelFunc
	eventsFile *os.File
	done       chan error // a server's Serve ended on its own (nil errors are not sent)

	// The local AWS endpoint (serve_localaws.go).
	apiURL      string            // the Peerdom API the actions call
	busName     string            // the bus's name in the template's functions
	params      map[string]string // the template parameters, resolved
	local       LocalDescription
	localAWSSrv *http.Server
	awsCreds    localaws.Credentials // the only ones the local AWS endpoint accepts
	apiKey      string               // the key the actions use, given to emulated functions as a plain value
	emulated    []*emulatedFunction  // the template's functions run under the emulator (serve_emulated.go)
	// Reconciliation (--reconcile-every): the entity state enrich keeps and the loop reads.
	state          *memstate.Store
	reconcileAPI   *peerdomapi.Client
	source         string // the events' source (the template's EventSource)
	stopReconcile  context.CancelFunc
	reconcileEnded chan struct{}
	// The typed record of everything the pipeline does (internal/observe), which the
	// display, the admin endpoint and the console read.
	obs *observe.Stream
	// The admin endpoint (serve_admin.go) and what it reports.
	counts     *counters
	adminSrv   *http.Server
	adminToken string
	adminFile  string
	adminURL   string
	console    *console.Console // the web console on the admin address; nil: none
	// The durable store (serve_store.go); nil: --in-memory.
	store                          *boltstore.Store
	restoredQueue, restoredActions int
	replayed                       string // what --replay restored, for the banner
}

// seedSandbox fills the sandbox with its first contents: the entities the sample webhooks of
// `peerbridge send` (internal/webhooksamples) name, and a role for onboarding.
func seedSandbox(p *peerdomtest.Peerdom) (onboardingRole string) {
	p.AddPeer(peerdomapi.Peer{ID: webhooksamples.PeerID, FirstName: "Ada", LastName: "Lovelace"})
	root, _ := p.RootCircle()
	p.AddGroup(peerdomapi.Group{ID: webhooksamples.GroupID, Name: "Research", ParentID: root.ID})                // in the root circle
	p.AddRole(peerdomapi.Role{ID: webhooksamples.RoleID, Name: "Facilitator", ParentID: webhooksamples.GroupID}) // in the circle Research
	return p.AddRole(peerdomapi.Role{ID: SandboxOnboardingRoleID, Name: "Onboarding buddy"}).ID
}

// sandboxKeepRecords bounds the requests and writes serve's sandbox remembers, which no
// one reads in serve: its memory stays flat however many actions call it.
const sandboxKeepRecords = 1000

// SandboxOnboardingRoleID is events/env.json's ONBOARDING_ROLE_IDS, so that a function
// invoked with it against the sandbox (peerbridge invoke --local) finds the role.
const SandboxOnboardingRoleID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

// serveGCPercent is serve's GOGC unless the environment sets one. Serve's live heap is
// about a megabyte, so at Go's default (100) the collector runs every 4 MB allocated,
// every couple of hundred webhooks under load, and took a quarter of serve's CPU; at 400
// it runs a quarter as often, for a heap that stays under about 16 MB.
const serveGCPercent = 400

// setServeGC sets serveGCPercent unless GOGC is set, and returns what restores the
// previous setting.
func setServeGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(serveGCPercent)
	return func() { debug.SetGCPercent(prev) }
}

// Start builds everything, then serves: the ports are bound first (their addresses
// go into the sandbox URL and the webhook URL), but nothing is answered on them until
// the pipeline, the sandbox and the actions exist, so a request that arrives at once
// waits in the listen backlog rather than reaching something half built. What it built
// is described on stdout (the banner).
func Start(ctx context.Context, opts Options, stdout, stderr io.Writer) (*Stack, error) {
	s := &Stack{opts: opts, display: &display{w: stdout}, done: make(chan error, 3), counts: newCounters(),
		obs: observe.New(observe.Options{Size: opts.RecordsKept})}
	s.obs.Tap(s.display.record)
	s.obs.Tap(s.counts.noteRecord)
	generated := false
	if opts.Token == "" {
		opts.Token, generated = peerdom.NewDeliveryID(), true
	}
	s.opts.Token = opts.Token
	tokens, err := ingest.NewTokens([]string{opts.Token})
	if err != nil {
		return nil, err
	}
	listen := opts.Listen
	if listen == nil {
		listen = net.Listen
	}
	// Every port first, before anything is built: each busy one is named with its flag,
	// all at once.
	ports, err := listenAll(listen, opts)
	if err != nil {
		return nil, err
	}
	l := listeners{webhook: newLimitListener(ports[0], cmp.Or(opts.MaxConns, DefaultMaxConns)), sandbox: ports[1], aws: ports[2], admin: ports[3]}
	s.webhookURL = "http://" + l.webhook.Addr().String() + "/webhooks/" + opts.Token
	if err := s.build(opts, tokens, l, stderr); err != nil {
		closeAll(l.webhook, l.sandbox, l.aws, l.admin)
		if s.sandbox != nil {
			s.sandbox.Close()
		}
		s.closeStore()
		return nil, err
	}
	s.serve(ctx, l, stderr)
	s.banner(stdout, l, generated)
	return s, nil
}

// listeners are serve's ports; nil: not wanted.
type listeners struct{ webhook, sandbox, aws, admin net.Listener }

// build makes the Peerdom side (a sandbox whose writes send webhooks back in, or a real
// API), the pipeline with its actions, and reconciliation's client; it restores a spill
// file (--replay).
func (s *Stack) build(opts Options, tokens *ingest.Tokens, l listeners, stderr io.Writer) error {
	apiURL, apiKey := opts.PeerdomURL, opts.APIKey
	params := map[string]string{}
	if opts.PeerdomURL == "" {
		s.sandbox = peerdomtest.New(peerdomtest.Config{Webhook: s.sandboxWebhook, KeepRecords: sandboxKeepRecords})
		onboarding := seedSandbox(s.sandbox)
		cfg := s.sandbox.Config()
		apiURL = "http://" + l.sandbox.Addr().String() + peerdomtest.APIPrefix
		apiKey = cfg.APIKey
		s.sandboxURL = apiURL
		// Sandbox defaults so that the shipped actions run; --param overrides them.
		params["PeerdomApiKeyParameterName"] = "local-sandbox"
		params["OnboardingRoleIds"] = onboarding
		params["RoleDefaults"] = `{"Purpose":"To be defined"}`
		params["IgnoreAuthors"] = cfg.OwnerEmail
	}
	if opts.ReconcileEvery > 0 && !opts.NoActions {
		s.state = memstate.New() // enrich keeps it current; reconciliation compares with it
	}
	var err error
	if s.pipeline, err = s.buildPipeline(opts, params, tokens, apiURL, apiKey, stderr); err != nil {
		return err
	}
	if s.state != nil {
		if s.reconcileAPI, err = peerdomapi.New(apiURL, apiKey, peerdomapi.WithUserAgent("peerbridge-serve-reconcile")); err != nil {
			return err
		}
	}
	if opts.Replay != "" {
		if err := s.replaySpill(opts.Replay); err != nil {
			return err
		}
	}
	s.webhooks = s.pipeline.WebhookHandler()
	s.apiURL, s.apiKey = apiURL, apiKey
	if l.aws != nil {
		s.describeLocalAWS(l.aws)
	}
	return nil
}

// serve starts the pipeline, then answers on every port: the sandbox, the webhook
// endpoint, the local AWS endpoint, the admin endpoint (once its file is written); and
// the emulated functions' watchers and the reconciliation loop.
func (s *Stack) serve(ctx context.Context, l listeners, stderr io.Writer) {
	opts := s.opts
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.pipeline.Start(runCtx, 4)
	if l.sandbox != nil {
		s.sandboxSrv = opts.Timeouts.server(hostOnly(s.sandbox, l.sandbox))
		go serveUntilClosed(s.sandboxSrv, l.sandbox, s.done)
	}
	s.server = opts.Timeouts.server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Done()
		s.webhooks.ServeHTTP(w, r)
	}))
	go serveUntilClosed(s.server, l.webhook, s.done)
	if l.aws != nil {
		s.serveLocalAWS(l.aws)
	}
	if (l.admin != nil || l.aws != nil) && !opts.NoAdminFile {
		if err := s.writeAdminFile(l.admin, l.aws); err != nil {
			// status --local and invoke --local are conveniences: serve runs without them
			if l.admin != nil {
				l.admin.Close()
			}
			if l.aws != nil {
				s.stopLocalAWS(time.Second)
			}
			s.display.linef("  ! admin file: %v", err)
		} else if l.admin != nil {
			s.startAdmin(l.admin)
		}
	}
	if opts.Watch {
		for _, ef := range s.emulated {
			go ef.watch(runCtx, time.Second, stderr)
		}
	}
	if s.state != nil {
		rctx, stopReconcile := context.WithCancel(runCtx)
		s.stopReconcile, s.reconcileEnded = stopReconcile, make(chan struct{})
		r := &reconcile.Reconciler{API: s.reconcileAPI, State: s.state, Bus: s.pipeline.Bus, Source: s.source}
		go s.reconcileLoop(rctx, r, opts.ReconcileEvery)
	}
}

// banner says what runs where: the store, the endpoints, the rules, how to try it.
func (s *Stack) banner(stdout io.Writer, l listeners, generated bool) {
	if s.store != nil {
		fmt.Fprintf(stdout, "peerbridge serve: the pipeline is running; accepted webhooks and pending actions are kept on disk: after a crash or kill -9, serve started again on the same data dir delivers each once\n")
		fmt.Fprintf(stdout, "  data dir          %s\n", s.opts.DataDir)
		if s.restoredQueue+s.restoredActions > 0 {
			fmt.Fprintf(stdout, "  restored          %d queued webhook(s) and %d pending action(s) of the previous run\n", s.restoredQueue, s.restoredActions)
		}
	} else {
		fmt.Fprintf(stdout, "peerbridge serve: the pipeline is running (--in-memory: a kill -9 loses the accepted webhooks not yet on the bus and the actions not yet run)\n")
	}
	if s.replayed != "" {
		fmt.Fprintf(stdout, "  replayed          %s\n", s.replayed)
	}
	fmt.Fprintf(stdout, "  webhook endpoint  POST %s\n", s.webhookURL)
	if generated {
		fmt.Fprintf(stdout, "                    (generated token; set PEERBRIDGE_WEBHOOK_TOKEN or --token to keep one)\n")
	}
	if s.sandbox != nil {
		fmt.Fprintf(stdout, "  sandbox Peerdom   %s   (X-Api-Key: %s)\n", s.sandboxURL, s.apiKey)
	} else {
		fmt.Fprintf(stdout, "  Peerdom API       %s\n", s.apiURL)
	}
	if l.aws != nil {
		fmt.Fprintf(stdout, "  local AWS         %s   (SQS and EventBridge, for peerbridge invoke --local)\n", s.local.AWSEndpoint)
	}
	for _, r := range s.pipeline.Routes {
		fmt.Fprintf(stdout, "  rule              %s.%s → %s\n", r.Function, r.Rule, r.Pattern)
	}
	if s.adminSrv != nil {
		fmt.Fprintf(stdout, "  admin             %s   (for peerbridge status|dlq --local; its token is in %s)\n", s.adminURL, s.adminFile)
		if u := s.ConsoleURL(); u != "" {
			fmt.Fprintf(stdout, "  console           %s   (open it in your browser; the link works once)\n", u)
		}
	}
	if s.state != nil {
		fmt.Fprintf(stdout, "  reconcile         every %s (--reconcile-every; 0 turns it off)\n", s.opts.ReconcileEvery)
	}
	fmt.Fprintf(stdout, "  try               %s\n\n", tryLine(l.webhook.Addr().String(), s.opts.Token))
}

// reconcileLoop runs reconciliation at once (the baseline) and then every interval,
// until ctx ends, and shows what each run found.
func (s *Stack) reconcileLoop(ctx context.Context, r *reconcile.Reconciler, every time.Duration) {
	defer close(s.reconcileEnded)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		start := time.Now()
		rep, err := r.Run(ctx)
		listed := rep.Listed["role"] + rep.Listed["group"] + rep.Listed["peer"]
		if ctx.Err() == nil {
			s.obs.Publish(reconcileRecord(rep, err, time.Since(start)))
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.display.linef("  ! reconcile: %v", err)
		case rep.Baseline:
			s.display.linef("  ⟳ reconcile: baseline of %d entities recorded; nothing published", listed)
		case rep.Differences > 0:
			s.display.linef("  ⟳ reconcile: %d change(s) no webhook reported, published (%d entities listed)", rep.Published, listed)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reconcileRecord is the record of one reconciliation run: the differences it published
// (each with its event's delivery id, which the event's own records carry).
func reconcileRecord(rep reconcile.Report, err error, took time.Duration) observe.Record {
	rec := &observe.Reconcile{Baseline: rep.Baseline, Drift: rep.Published, Duration: took}
	if err != nil {
		rec.Error = err.Error()
	}
	for _, ev := range rep.Events {
		rec.Differences = append(rec.Differences, observe.Difference{DetailType: ev.DetailType, EntityID: ev.Detail.EntityID, DeliveryID: ev.Detail.ID})
	}
	return observe.Record{Kind: observe.KindReconcile, Reconcile: rec}
}

// sandboxWebhook is what the sandbox does with each webhook: as Peerdom would, POST it to
// the endpoint — here in-process, so shutdown can close the port and still finish the
// round trip. It only runs once the stack is built (the sandbox answers nothing before).
func (s *Stack) sandboxWebhook(ctx context.Context, body []byte) {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, s.webhookURL, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("User-Agent", "peerbridge-sandbox")
	rec := httptest.NewRecorder()
	s.webhooks.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		s.display.linef("  ! sandbox webhook refused: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
}

// loadTemplate reads the template with the parameters: the sandbox's defaults (those the
// template declares), then --param.
func loadTemplate(opts Options, sandboxParams map[string]string) (*samtemplate.Template, error) {
	tpl, err := samtemplate.Load(opts.Template, nil) // first read: which parameters exist
	if err != nil {
		return nil, fmt.Errorf("reading the template: %w (run serve from the repository, or give --template)", err)
	}
	params := map[string]string{}
	if opts.PeerdomURL != "" {
		// The key comes from $PEERDOM_API_KEY; the template's secret name only gates the
		// actions (its HasApiKey condition), so give it a local placeholder.
		sandboxParams = map[string]string{"PeerdomApiKeyParameterName": "local-env-key"}
	}
	for k, v := range sandboxParams {
		if _, declared := tpl.Params[k]; declared {
			params[k] = v
		}
	}
	for k, v := range opts.Params {
		params[k] = v
	}
	return samtemplate.Load(opts.Template, params)
}

// actionWiring is what every in-process action shares: the Peerdom API, the bus, the
// leases, the handlers' log.
type actionWiring struct {
	apiURL, apiKey string
	bus            *membus.Bus
	leases         leasesOnly
	logger         *slog.Logger
}

// builtinTarget runs a shipped action (functions/actions/NAME) in this process, as its
// Lambda does: the runner with its ignore list and leases, behind the EventBridge
// adapter. Its API calls and its outcome go to the stream.
func (s *Stack) builtinTarget(fn samtemplate.Function, name string, w actionWiring) (localpipeline.Target, error) {
	api, err := peerdomapi.New(w.apiURL, w.apiKey, peerdomapi.WithHTTPClient(&http.Client{
		Transport: &apiCalls{action: name, function: fn.LogicalID, obs: s.obs, apiKey: w.apiKey, next: http.DefaultTransport},
	}))
	if err != nil {
		return nil, err
	}
	// As in the Lambda: the same constructor, on the twins. A lease on what identifies the
	// entity (its id, else its name), so concurrent deliveries about one entity act one at
	// a time; enrich keeps the entity state when serve has one.
	a := builtin.Adapters{API: api, Bus: w.bus, Once: w.leases, Logger: w.logger}
	if s.state != nil { // a nil *memstate.Store must not go in as a non-nil interface
		a.State = s.state
	}
	runner, err := builtin.NewRunner(name, func(k string) string { return fn.Env[k] }, a)
	if err != nil {
		return nil, err
	}
	runner.OnResult = reportResult
	handle := awsaction.EventBridgeHandler(runner)
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		return handle(withBlockRef(ctx, ev.ID, fn.LogicalID), ev) // its API calls join the event's block
	}, nil
}

// reportResult tells the pipeline of an event the runner ignored, with the reason (its
// error says done or failed).
func reportResult(ctx context.Context, _ action.Event, res action.Result) {
	if res.Outcome == action.OutcomeIgnored {
		localpipeline.ReportOutcome(ctx, observe.Ignored, res.Reason)
	}
}

// buildPipeline reads the template and makes a target for each action function in it.
func (s *Stack) buildPipeline(opts Options, sandboxParams map[string]string, tokens *ingest.Tokens, apiURL, apiKey string, stderr io.Writer) (*localpipeline.Pipeline, error) {
	tpl, err := loadTemplate(opts, sandboxParams)
	if err != nil {
		return nil, err
	}
	s.params = tpl.Params
	s.busName = templateBusName(tpl)
	if opts.PeerdomURL != "" && !opts.NoActions {
		for _, m := range missingActionParams(tpl) {
			s.display.linef("  ! %s", m)
		}
	}
	// The bus keeps counters, not events, so serve's memory stays flat however long it
	// runs; the queue is bounded (--max-backlog): beyond it ingest answers 503.
	eventBus := &membus.Bus{DropEvents: true} // enrich publishes its snapshots to it
	if opts.BusHook != nil {
		opts.BusHook(eventBus)
	}
	queue := &memqueue.Queue{MaxBacklog: cmp.Or(opts.MaxBacklog, DefaultMaxBacklog)}
	var pending []localpipeline.StoredAction
	if opts.DataDir != "" {
		if pending, err = s.openStore(queue); err != nil {
			return nil, err
		}
	}
	logger := logging.New(stderr, opts.LogLevel)
	wiring := actionWiring{apiURL: apiURL, apiKey: apiKey, bus: eventBus, leases: leasesOnly{memstore.New(time.Now)}, logger: logger}
	target := func(fn samtemplate.Function) (localpipeline.Target, error) {
		dir := strings.TrimSuffix(path.Clean(fn.CodeURI), "/")
		name := path.Base(dir)
		switch {
		case opts.NoActions:
			return notRun, nil // routed and shown; the route's Target is cleared below
		case path.Dir(dir) != "functions/actions" || !slices.Contains(action.Builtins(), name):
			// Not a shipped action: built and run under the Lambda emulator.
			return s.emulatedTarget(fn, stderr)
		}
		return s.builtinTarget(fn, name, wiring)
	}
	routes, skipped, err := localpipeline.RoutesFromTemplate(tpl, target)
	if err != nil {
		return nil, err
	}
	if opts.NoActions {
		for i := range routes {
			routes[i].Target = nil // --no-actions: show where events would go, deliver none
		}
		s.display.noActions = true
	}
	for _, fn := range skipped {
		s.display.linef("  (function %s has rules but no local implementation: its events are shown, not delivered)", fn)
	}
	s.source = tpl.Params["EventSource"]
	workerTimeout, err := localpipeline.FunctionTimeout(tpl, "WorkerFunction") // the template's, as deployed
	if err != nil {
		return nil, err
	}
	cfg := localpipeline.Config{
		Bus: eventBus, Queue: queue, Tokens: tokens, Source: s.source, Routes: routes, Logger: logger,
		MaxPendingActions: cmp.Or(opts.MaxPending, DefaultMaxPending), Pending: pending, Observe: s.obs,
		WorkerTimeout: workerTimeout,
		Observer:      localpipeline.Observer{WorkerError: func(err error) { s.display.linef("  ! worker: %v", err) }},
	}
	if s.store != nil {
		cfg.Store = s.store
	}
	if opts.EventsOut != "" {
		f, at, err := s.openEventsOut(opts.EventsOut)
		if err != nil {
			return nil, fmt.Errorf("--events-out: %w", err)
		}
		s.eventsFile, cfg.EventsOut, cfg.EventsOutAt = f, f, at
	}
	return localpipeline.New(cfg), nil
}

// notRun stands for an action under --no-actions, so that its rules are kept.
func notRun(context.Context, events.EventBridgeEvent) error { return nil }

// actionParams are the template parameters without which a shipped action is not
// deployed (its condition in template.yaml) and so does not run in serve either.
var actionParams = []struct{ function, param, example string }{
	{"OnboardPeerFunction", "OnboardingRoleIds", "ROLE_ID[,ROLE_ID…]"},
	{"RoleDefaultsFunction", "RoleDefaults", `'{"Purpose":"To be defined"}'`},
}

// missingActionParams names, for a run against a real Peerdom, each action that will not
// run for want of a parameter, so that serve never silently runs no action.
func missingActionParams(tpl *samtemplate.Template) []string {
	var missing []string
	for _, p := range actionParams {
		if v, declared := tpl.Params[p.param]; declared && strings.TrimSpace(v) == "" {
			missing = append(missing, fmt.Sprintf("%s does not run: give --param %s=%s", p.function, p.param, p.example))
		}
	}
	return missing
}

// StopResult is what shutdown counted.
type StopResult struct {
	Events, QueueDead, ActionsDead int
	Spilled                        int    // items written to spillFile
	SpillFile                      string // empty when nothing was spilled
	Lost                           int    // undelivered items that could not be spilled
	Kept                           int    // undelivered items kept in the store
}

// hostOnly refuses, on a loopback listener, a request whose Host is not the listener's
// own address: a web page that reached the port by DNS rebinding (its name resolved to
// 127.0.0.1) names its own host there.
func hostOnly(next http.Handler, ln net.Listener) http.Handler {
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		return next
	}
	hosts := localaws.LoopbackHosts(ln.Addr())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(hosts, strings.ToLower(r.Host)) {
			http.Error(w, fmt.Sprintf("Host %q is not this endpoint's address (%s)", r.Host, hosts[0]), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tryLine is the send command that reaches this serve: with --url when its address is
// not send's default.
func tryLine(addr, token string) string {
	line := "PEERBRIDGE_WEBHOOK_TOKEN=" + token + " go run ./cmd/peerbridge send --kind all"
	if u := "http://" + addr; u != "http://"+DefaultAddr {
		line += " --url " + u
	}
	return line
}

// leasesOnly is an idempotency store that keeps leases and no completion records: serve
// delivers each event to an action once (a failed run, retried, recorded nothing), so
// records would only grow with every event for as long as serve runs. It embeds the
// Leases alone: an embedded *memstore.Store would also promote its Claims, which action.Once
// prefers, and the records would be kept after all.
type leasesOnly struct{ idempotency.Leases }

func (leasesOnly) Complete(context.Context, string, time.Duration) error { return nil }
func (leasesOnly) Completed(context.Context, string) (bool, error)       { return false, nil }

// listenAll binds serve's ports: the webhook endpoint, the sandbox (without
// --peerdom-url), the local AWS endpoint and the admin endpoint (each unless its flag is
// empty), in that order, nil for one not wanted. If any cannot be bound, none is kept and
// the error names each that failed, with its flag.
func listenAll(listen func(network, addr string) (net.Listener, error), opts Options) ([4]net.Listener, error) {
	var lns [4]net.Listener
	var errs []error
	bind := func(i int, flag, addr string) {
		ln, err := listen("tcp", addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", flag, addr, err))
			return
		}
		lns[i] = ln
	}
	bind(0, "--addr", opts.Addr)
	if opts.PeerdomURL == "" {
		bind(1, "--sandbox-addr", opts.SandboxAddr)
	}
	if opts.AWSAddr != "" {
		if ln, err := listenLocalAWS(listen, opts.AWSAddr); err != nil {
			errs = append(errs, err)
		} else {
			lns[2] = ln
		}
	}
	if opts.AdminAddr != "" {
		if ln, err := listenAdmin(listen, opts.AdminAddr); err != nil {
			errs = append(errs, err)
		} else {
			lns[3] = ln
		}
	}
	if len(errs) > 0 {
		closeAll(lns[:]...)
		msg := "cannot listen (another serve may be running: give these flags other addresses; --aws-addr and --admin-addr may be empty for none)"
		for _, e := range errs {
			msg += "\n  " + e.Error()
		}
		return lns, errors.New(msg)
	}
	return lns, nil
}

func closeAll(lns ...net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			ln.Close()
		}
	}
}

// Stop shuts down in order: the webhook server first, bounded on its own (open requests
// get opts.HTTPShutdown, then their connections are closed); then the queue, the bus,
// the actions and the sandbox webhooks they cause drain until idle or drainFor has
// passed; whatever is still undelivered then is kept in the data dir, or written to the
// spill file.
func (s *Stack) Stop(drainFor time.Duration) (StopResult, error) {
	var errs []error
	s.stopServers()
	drained := s.drain(drainFor)
	if !drained && s.store != nil {
		s.display.linef("  ! drain: --drain-timeout (%s) ended with work left; it stays in the data dir for the next start", drainFor)
	} else if !drained {
		s.display.linef("  ! drain: --drain-timeout (%s) ended with work left; keeping it in a spill file", drainFor)
	}
	pendingActions := s.pipeline.Stop(s.cancel)
	for _, ef := range s.emulated {
		ef.stop()
	}
	s.display.flush()
	if s.sandbox != nil {
		s.sandbox.Close() // its webhook in progress ends in the queue, kept below
		sctx, c := context.WithTimeout(context.Background(), time.Second)
		s.sandboxSrv.Shutdown(sctx)
		c()
	}
	if s.eventsFile != nil {
		errs = append(errs, s.eventsFile.Close())
	}
	res := StopResult{
		Events:      s.pipeline.Bus.Accepted(),
		QueueDead:   len(s.pipeline.Queue.DeadLetters()),
		ActionsDead: len(s.pipeline.DeadActions()),
	}
	errs = append(errs, s.keepUndelivered(&res, pendingActions))
	s.display.linef("%s", res.summary(s.opts.DataDir))
	return res, errors.Join(errs...)
}

// stopServers stops reconciliation, then the servers: the webhook endpoint (its open
// requests get Options.HTTPShutdown), the admin endpoint (no redrive may add work once
// the drain has begun) and the local AWS endpoint.
func (s *Stack) stopServers() {
	if s.stopReconcile != nil {
		s.stopReconcile() // a run in progress ends; what it published is drained below
		<-s.reconcileEnded
	}
	grace := cmp.Or(s.opts.HTTPShutdown, defaultHTTPShutdown)
	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), grace)
	if err := s.server.Shutdown(httpCtx); err != nil {
		s.server.Close() // the stragglers: their requests were never answered, so never accepted
		s.display.linef("  ! webhook server: requests still open after %s were cut off", grace)
	}
	cancelHTTP()
	s.stopAdmin()
	s.stopLocalAWS(grace)
	s.handlers.Wait() // a request cut off returns at once: its body read fails
}

// drain waits, for at most drainFor, until the pipeline is idle and the sandbox has
// sent every webhook its writes caused (and those are handled); false: time ran out.
func (s *Stack) drain(drainFor time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), drainFor)
	defer cancel()
	for {
		if s.pipeline.Drain(ctx) != nil {
			return false
		}
		if s.sandbox == nil {
			return true
		}
		if s.sandbox.WaitWebhooks(ctx) != nil {
			return false
		}
		if s.pipeline.Idle() {
			return true // nothing new came in while the sandbox delivered
		}
	}
}

// keepUndelivered keeps what is left undelivered: in the store (it is there already), or
// written to the spill file; res says where and how much.
func (s *Stack) keepUndelivered(res *StopResult, pendingActions []localpipeline.PendingAction) error {
	if s.store != nil {
		res.Kept = len(s.pipeline.Queue.Pending()) + len(pendingActions)
		if err := s.store.Close(); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		return nil
	}
	items := spillItems(s.pipeline.Queue.Pending(), pendingActions)
	if len(items) == 0 {
		return nil
	}
	name := s.opts.Spill
	if name == "" {
		name = "peerbridge-spill-" + time.Now().UTC().Format("20060102T150405Z") + ".jsonl"
	}
	if err := writeSpill(name, items); err != nil {
		res.Lost = len(items)
		return fmt.Errorf("spill file: %w", err)
	}
	res.Spilled, res.SpillFile = len(items), name
	return nil
}

// summary is shutdown's last line.
func (res StopResult) summary(dataDir string) string {
	summary := fmt.Sprintf("stopped: %d events on the bus, %d queue messages and %d action events dead-lettered", res.Events, res.QueueDead, res.ActionsDead)
	if res.Spilled > 0 {
		summary += fmt.Sprintf(", %d undelivered kept in %s", res.Spilled, res.SpillFile)
	}
	if res.Kept > 0 {
		summary += fmt.Sprintf(", %d undelivered kept in %s for the next start", res.Kept, dataDir)
	}
	if res.Lost > 0 {
		summary += fmt.Sprintf(", %d LOST", res.Lost)
	}
	return summary
}

// Shutdown is Stop for callers that want only its error (the tests), with ctx's deadline
// as the drain's (else a minute).
func (s *Stack) Shutdown(ctx context.Context) error {
	drainFor := time.Minute
	if d, ok := ctx.Deadline(); ok {
		drainFor = time.Until(d)
	}
	res, err := s.Stop(drainFor)
	if err == nil && (res.Spilled > 0 || res.Lost > 0) {
		err = fmt.Errorf("shutdown left %d spilled and %d lost", res.Spilled, res.Lost)
	}
	return err
}

// Records is the typed record of everything the pipeline does (internal/observe): its
// ring of the last records, their counts, and live subscriptions.
func (s *Stack) Records() *observe.Stream { return s.obs }

// WebhookURL is the webhook endpoint, token included: http://ADDR/webhooks/TOKEN.
func (s *Stack) WebhookURL() string { return s.webhookURL }

// SandboxURL is the sandbox Peerdom's API base URL (empty with a real Peerdom).
func (s *Stack) SandboxURL() string { return s.sandboxURL }

// AdminURL is the admin endpoint's URL (empty: none), and AdminFile the file holding its
// address and token (empty: none written).
func (s *Stack) AdminURL() string  { return s.adminURL }
func (s *Stack) AdminFile() string { return s.adminFile }

// Pipeline is the running local pipeline: its queue, bus, routes and dead letters.
func (s *Stack) Pipeline() *localpipeline.Pipeline { return s.pipeline }

// Sandbox is the in-memory sandbox Peerdom; nil with a real one (Options.PeerdomURL).
func (s *Stack) Sandbox() *peerdomtest.Peerdom { return s.sandbox }

// Drain waits until the pipeline has handled all it took (the actions included) or ctx
// ends.
func (s *Stack) Drain(ctx context.Context) error { return s.pipeline.Drain(ctx) }

// replaySpill restores a spill file into the pipeline, before it starts.
func (s *Stack) replaySpill(name string) error {
	envelopes, actions, err := restoreSpill(name)
	if err != nil {
		return fmt.Errorf("--replay: %w", err)
	}
	if err := s.pipeline.Replay(context.Background(), envelopes, actions); err != nil {
		return fmt.Errorf("--replay %s: %w", name, err)
	}
	s.replayed = fmt.Sprintf("%d queued webhook(s) and %d pending action(s) from %s", len(envelopes), len(actions), name)
	return nil
}

// closeStore closes the store of a stack that failed to start.
func (s *Stack) closeStore() {
	if s.store != nil {
		s.store.Close()
		s.store = nil
	}
}

// serveUntilClosed serves until Shutdown; it reports any other end on done.
func serveUntilClosed(srv *http.Server, ln net.Listener, done chan<- error) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		done <- fmt.Errorf("server on %s stopped: %w", ln.Addr(), err)
	}
}
