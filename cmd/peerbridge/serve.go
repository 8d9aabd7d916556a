package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
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
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/localpipeline/boltstore"
	"github.com/peerbridge/peerbridge/internal/logging"
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

// serveOptions are serve's flags.
type serveOptions struct {
	addr        string
	sandboxAddr string
	token       string
	template    string
	params      map[string]string
	eventsOut   string
	peerdomURL  string // empty: the in-memory sandbox
	apiKey      string // with peerdomURL
	logLevel    string
	drainFor    time.Duration
	noActions   bool // route and show events, call no action
	maxBacklog  int  // the in-memory queue's bound; beyond it ingest answers 503
	maxConns    int  // open connections to the webhook endpoint at once
	spill       string
	awsAddr     string // the local AWS endpoint for functions run under the emulator; empty: none
	watch       bool   // rebuild a function run under the emulator when its code changes
	// reconcileEvery is how often reconciliation runs (0: never); its first run, at start,
	// records the baseline.
	reconcileEvery time.Duration
	adminAddr      string // the admin endpoint for status and dlq --local (serve_admin.go); empty: none
	noAdminFile    bool   // invoke's own twins: no other command is to find them
	// dataDir holds the durable store (serve_store.go); empty: everything in memory
	// (--in-memory, and the tests that build a stack directly).
	dataDir string
	// maxPending bounds the action stage; 0: defaultMaxPending.
	maxPending int
	replay     string // a spill file to restore before serving

	// For tests; zero values mean the defaults below.
	listen       func(network, addr string) (net.Listener, error)
	busHook      func(*membus.Bus) // e.g. to set fault hooks
	httpShutdown time.Duration     // how long open requests get at shutdown before being cut
	timeouts     serverTimeouts
}

// serverTimeouts are the webhook and sandbox servers' timeouts.
type serverTimeouts struct {
	readHeader, read, write, idle time.Duration
}

// Defaults of serve's servers: a webhook is a small POST, so a client that takes longer
// than these is stalled or hostile.
var defaultTimeouts = serverTimeouts{readHeader: 5 * time.Second, read: 30 * time.Second, write: 30 * time.Second, idle: 60 * time.Second}

const (
	defaultHTTPShutdown = 5 * time.Second
	defaultMaxBacklog   = 10000
	defaultMaxConns     = 512
	defaultMaxPending   = 2000
)

func (t serverTimeouts) server(h http.Handler) *http.Server {
	d := func(v, def time.Duration) time.Duration { return cmp.Or(v, def) }
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: d(t.readHeader, defaultTimeouts.readHeader),
		ReadTimeout:       d(t.read, defaultTimeouts.read),
		WriteTimeout:      d(t.write, defaultTimeouts.write),
		IdleTimeout:       d(t.idle, defaultTimeouts.idle),
	}
}

// testServeOptions, when set (by tests), adjusts the options runServe read from its flags.
var testServeOptions func(*serveOptions)

// paramFlag collects repeated --param NAME=VALUE.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }
func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	p[name] = value
	return nil
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	opts := serveOptions{params: map[string]string{}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:3000", "`address` of the webhook endpoint")
	fs.StringVar(&opts.sandboxAddr, "sandbox-addr", "127.0.0.1:3001", "`address` of the sandbox Peerdom API")
	fs.StringVar(&opts.token, "token", "", "webhook `token` (default $PEERBRIDGE_WEBHOOK_TOKEN, else a generated one)")
	fs.StringVar(&opts.template, "template", "template.yaml", "the SAM `template` whose rules route events to the actions")
	fs.Var(paramFlag(opts.params), "param", "template parameter `NAME=VALUE` (repeatable)")
	fs.StringVar(&opts.eventsOut, "events-out", "", "append every bus event to `FILE` as a JSON line")
	fs.StringVar(&opts.peerdomURL, "peerdom-url", "", "a real Peerdom API `URL` (key in $PEERDOM_API_KEY) instead of the sandbox")
	fs.StringVar(&opts.logLevel, "log-level", "warn", "`level` of the handlers' JSON logs on stderr (debug|info|warn|error)")
	fs.BoolVar(&opts.noActions, "no-actions", false, "run no action: events are routed and shown, not delivered")
	fs.DurationVar(&opts.drainFor, "drain-timeout", 30*time.Second, "how long shutdown may take to finish accepted work; what is left goes to the --spill file")
	fs.IntVar(&opts.maxBacklog, "max-backlog", defaultMaxBacklog, "most webhooks queued in memory; beyond it the endpoint answers 503 with Retry-After")
	fs.IntVar(&opts.maxConns, "max-conns", defaultMaxConns, "most open connections to the webhook endpoint at once")
	fs.StringVar(&opts.awsAddr, "aws-addr", "127.0.0.1:3002", "`address` of the local AWS endpoint (SQS SendMessage, EventBridge PutEvents) for peerbridge invoke --local; empty: none")
	fs.BoolVar(&opts.watch, "watch", false, "rebuild a function run under the Lambda emulator (not a shipped action) when a file under its CodeUri changes")
	fs.DurationVar(&opts.reconcileEvery, "reconcile-every", time.Minute, "run reconciliation this often against the Peerdom side: changes no webhook reported are published (the first run, at start, records the baseline); 0 turns it off")
	fs.StringVar(&opts.adminAddr, "admin-addr", "127.0.0.1:3003", "loopback `address` of the admin endpoint that peerbridge status --local and dlq --local ask (its token is in the admin file); empty: none")
	fs.StringVar(&opts.dataDir, "data-dir", "", "`DIR` of the on-disk store of queued webhooks and pending actions (default "+defaultDataDirText+")")
	inMemory := fs.Bool("in-memory", false, "keep the queue and the pending actions in memory only: a kill -9 loses them (shutdown spills what is left to --spill)")
	fs.IntVar(&opts.maxPending, "max-pending-actions", defaultMaxPending, "most matched events waiting for their actions; beyond it the worker waits, the queue fills and the endpoint answers 503")
	fs.StringVar(&opts.replay, "replay", "", "restore a spill `FILE` of an earlier serve --in-memory before serving: its webhooks queued again with their delivery ids, its events given only the actions still pending (restore a file once)")
	fs.StringVar(&opts.spill, "spill", "", "`FILE` for the work still undelivered when --drain-timeout ends (default peerbridge-spill-<time>.jsonl, written only if needed), with --in-memory; restore it with peerbridge serve --replay FILE")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge serve [flags]\n\nRuns ingest, the queue, the worker, the bus and the actions on this machine, routing events\nby the rules of template.yaml, against an in-memory sandbox Peerdom (or a real one).")
		fs.PrintDefaults()
	}
	argv, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(argv) > 0 {
		fmt.Fprintf(stderr, "peerbridge serve: unexpected argument %q\n", argOr(argv, 0))
		return 2
	}
	if testServeOptions != nil {
		testServeOptions(&opts)
	}
	if opts.maxBacklog < 1 || opts.maxConns < 1 || opts.maxPending < 1 {
		fmt.Fprintln(stderr, "peerbridge serve: --max-backlog, --max-conns and --max-pending-actions must be at least 1")
		return 2
	}
	if *inMemory && opts.dataDir != "" {
		fmt.Fprintln(stderr, "peerbridge serve: give --data-dir or --in-memory, not both")
		return 2
	}
	if !*inMemory && opts.dataDir == "" {
		if opts.dataDir, err = defaultDataDir(); err != nil {
			fmt.Fprintf(stderr, "peerbridge serve: %v; give --data-dir DIR or --in-memory\n", err)
			return 2
		}
	}
	if opts.token == "" {
		opts.token = os.Getenv("PEERBRIDGE_WEBHOOK_TOKEN") // not the flag's default: -h would show it
	}
	if opts.peerdomURL != "" {
		opts.apiKey = os.Getenv("PEERDOM_API_KEY")
		if opts.apiKey == "" {
			fmt.Fprintln(stderr, "peerbridge serve: --peerdom-url needs the organization's API key in PEERDOM_API_KEY")
			return 2
		}
	}
	defer setServeGC()()
	stack, err := startStack(ctx, opts, stdout, stderr)
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
	res, err := stack.stop(opts.drainFor)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge serve: %v\n", err)
		status = 1
	}
	if res.spilled > 0 {
		fmt.Fprintf(stderr, "peerbridge serve: %d undelivered item(s) written to %s; restore them with: peerbridge serve --replay %s\n", res.spilled, res.spillFile, res.spillFile)
		status = 1
	}
	if res.lost > 0 {
		fmt.Fprintf(stderr, "peerbridge serve: %d accepted item(s) lost (not on the bus, not in a spill file)\n", res.lost)
		status = 1
	}
	return status
}

// stack is a running local pipeline: the webhook server, the pipeline, the Peerdom side.
type stack struct {
	opts       serveOptions
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
	local       localDescription
	localAWSSrv *http.Server
	awsCreds    localaws.Credentials // the only ones the local AWS endpoint accepts
	apiKey      string               // the key the actions use, given to emulated functions as a plain value
	emulated    []*emulatedFunction  // the template's functions run under the emulator (serve_emulated.go)
	// Reconciliation (--reconcile-every): the entity state enrich keeps and the loop reads.
	state          *memstate.Store
	source         string // the events' source (the template's EventSource)
	stopReconcile  context.CancelFunc
	reconcileEnded chan struct{}
	// The admin endpoint (serve_admin.go) and what it reports.
	counts     *counters
	adminSrv   *http.Server
	adminToken string
	adminFile  string
	adminURL   string
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
	return p.AddRole(peerdomapi.Role{ID: sandboxOnboardingRoleID, Name: "Onboarding buddy"}).ID
}

// sandboxKeepRecords bounds the requests and writes serve's sandbox remembers, which no
// one reads in serve: its memory stays flat however many actions call it.
const sandboxKeepRecords = 1000

// sandboxOnboardingRoleID is events/env.json's ONBOARDING_ROLE_IDS, so that a function
// invoked with it against the sandbox (peerbridge invoke --local) finds the role.
const sandboxOnboardingRoleID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

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

// startStack builds everything, then serves: the ports are bound first (their addresses
// go into the sandbox URL and the webhook URL), but nothing is answered on them until
// the pipeline, the sandbox and the actions exist, so a request that arrives at once
// waits in the listen backlog rather than reaching something half built.
func startStack(ctx context.Context, opts serveOptions, stdout, stderr io.Writer) (*stack, error) {
	s := &stack{opts: opts, display: &display{w: stdout}, done: make(chan error, 3), counts: newCounters()}
	generated := false
	if opts.token == "" {
		opts.token, generated = peerdom.NewDeliveryID(), true
	}
	s.opts.token = opts.token
	tokens, err := ingest.NewTokens([]string{opts.token})
	if err != nil {
		return nil, err
	}
	listen := opts.listen
	if listen == nil {
		listen = net.Listen
	}
	// Every port first, before anything is built: each busy one is named with its flag,
	// all at once.
	ports, err := listenAll(listen, opts)
	if err != nil {
		return nil, err
	}
	webhookLn, sandboxLn, awsLn, adminLn := ports[0], ports[1], ports[2], ports[3]
	webhookLn = newLimitListener(webhookLn, cmp.Or(opts.maxConns, defaultMaxConns))
	s.webhookURL = "http://" + webhookLn.Addr().String() + "/webhooks/" + opts.token

	// The Peerdom side: a sandbox whose writes send webhooks back in, or a real API.
	apiURL, apiKey := opts.peerdomURL, opts.apiKey
	params := map[string]string{}
	if opts.peerdomURL == "" {
		s.sandbox = peerdomtest.New(peerdomtest.Config{Webhook: s.sandboxWebhook, KeepRecords: sandboxKeepRecords})
		onboarding := seedSandbox(s.sandbox)
		cfg := s.sandbox.Config()
		apiURL = "http://" + sandboxLn.Addr().String() + peerdomtest.APIPrefix
		apiKey = cfg.APIKey
		s.sandboxURL = apiURL
		// Sandbox defaults so that the shipped actions run; --param overrides them.
		params["PeerdomApiKeyParameterName"] = "local-sandbox"
		params["OnboardingRoleIds"] = onboarding
		params["RoleDefaults"] = `{"Purpose":"To be defined"}`
		params["IgnoreAuthors"] = cfg.OwnerEmail
	}
	if opts.reconcileEvery > 0 && !opts.noActions {
		s.state = memstate.New() // enrich keeps it current; reconciliation compares with it
	}
	s.pipeline, err = s.buildPipeline(opts, params, tokens, apiURL, apiKey, stderr)
	var reconcileAPI *peerdomapi.Client
	if err == nil && s.state != nil {
		reconcileAPI, err = peerdomapi.New(apiURL, apiKey, peerdomapi.WithUserAgent("peerbridge-serve-reconcile"))
	}
	if err != nil {
		closeAll(webhookLn, sandboxLn, awsLn, adminLn)
		if s.sandbox != nil {
			s.sandbox.Close()
		}
		s.closeStore()
		return nil, err
	}
	if opts.replay != "" {
		if err = s.replaySpill(opts.replay); err != nil {
			closeAll(webhookLn, sandboxLn, awsLn, adminLn)
			if s.sandbox != nil {
				s.sandbox.Close()
			}
			s.closeStore()
			return nil, err
		}
	}
	s.webhooks = s.counts.countWebhooks(s.pipeline.WebhookHandler())
	s.apiURL, s.apiKey = apiURL, apiKey
	if awsLn != nil {
		s.describeLocalAWS(awsLn)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.pipeline.Start(runCtx, 4)
	// Everything is built: now answer.
	if sandboxLn != nil {
		s.sandboxSrv = opts.timeouts.server(hostOnly(s.sandbox, sandboxLn))
		go serveUntilClosed(s.sandboxSrv, sandboxLn, s.done)
	}
	s.server = opts.timeouts.server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Done()
		s.webhooks.ServeHTTP(w, r)
	}))
	go serveUntilClosed(s.server, webhookLn, s.done)
	if awsLn != nil {
		s.serveLocalAWS(awsLn)
	}
	if (adminLn != nil || awsLn != nil) && !opts.noAdminFile {
		if err := s.writeAdminFile(adminLn, awsLn); err != nil {
			// status --local and invoke --local are conveniences: serve runs without them
			if adminLn != nil {
				adminLn.Close()
			}
			if awsLn != nil {
				s.stopLocalAWS(time.Second)
			}
			s.display.linef("  ! admin file: %v", err)
		} else if adminLn != nil {
			s.startAdmin(adminLn)
		}
	}
	if opts.watch {
		for _, ef := range s.emulated {
			go ef.watch(runCtx, time.Second, stderr)
		}
	}
	if s.state != nil {
		rctx, stopReconcile := context.WithCancel(runCtx)
		s.stopReconcile, s.reconcileEnded = stopReconcile, make(chan struct{})
		r := &reconcile.Reconciler{API: reconcileAPI, State: s.state, Bus: s.pipeline.Bus, Source: s.source}
		go s.reconcileLoop(rctx, r, opts.reconcileEvery)
	}

	if s.store != nil {
		fmt.Fprintf(stdout, "peerbridge serve: the pipeline is running; accepted webhooks and pending actions are kept on disk: after a crash or kill -9, serve started again on the same data dir delivers each once\n")
		fmt.Fprintf(stdout, "  data dir          %s\n", s.opts.dataDir)
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
		fmt.Fprintf(stdout, "  sandbox Peerdom   %s   (X-Api-Key: %s)\n", s.sandboxURL, apiKey)
	} else {
		fmt.Fprintf(stdout, "  Peerdom API       %s\n", apiURL)
	}
	if awsLn != nil {
		fmt.Fprintf(stdout, "  local AWS         %s   (SQS and EventBridge, for peerbridge invoke --local)\n", s.local.AWSEndpoint)
	}
	for _, r := range s.pipeline.Routes {
		fmt.Fprintf(stdout, "  rule              %s.%s → %s\n", r.Function, r.Rule, r.Pattern)
	}
	if s.adminSrv != nil {
		fmt.Fprintf(stdout, "  admin             %s   (for peerbridge status|dlq --local; its token is in %s)\n", s.adminURL, s.adminFile)
	}
	if s.state != nil {
		fmt.Fprintf(stdout, "  reconcile         every %s (--reconcile-every; 0 turns it off)\n", opts.reconcileEvery)
	}
	fmt.Fprintf(stdout, "  try               %s\n\n", tryLine(webhookLn.Addr().String(), opts.token))
	return s, nil
}

// reconcileLoop runs reconciliation at once (the baseline) and then every interval,
// until ctx ends, and shows what each run found.
func (s *stack) reconcileLoop(ctx context.Context, r *reconcile.Reconciler, every time.Duration) {
	defer close(s.reconcileEnded)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		rep, err := r.Run(ctx)
		listed := rep.Listed["role"] + rep.Listed["group"] + rep.Listed["peer"]
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

// sandboxWebhook is what the sandbox does with each webhook: as Peerdom would, POST it to
// the endpoint — here in-process, so shutdown can close the port and still finish the
// round trip. It only runs once the stack is built (the sandbox answers nothing before).
func (s *stack) sandboxWebhook(ctx context.Context, body []byte) {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, s.webhookURL, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("User-Agent", "peerbridge-sandbox")
	rec := httptest.NewRecorder()
	s.webhooks.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		s.display.linef("  ! sandbox webhook refused: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
}

// buildPipeline reads the template and makes a target for each action function in it.
func (s *stack) buildPipeline(opts serveOptions, sandboxParams map[string]string, tokens *ingest.Tokens, apiURL, apiKey string, stderr io.Writer) (*localpipeline.Pipeline, error) {
	tpl, err := samtemplate.Load(opts.template, nil) // first read: which parameters exist
	if err != nil {
		return nil, fmt.Errorf("reading the template: %w (run serve from the repository, or give --template)", err)
	}
	params := map[string]string{}
	if opts.peerdomURL != "" {
		// The key comes from $PEERDOM_API_KEY; the template's secret name only gates the
		// actions (its HasApiKey condition), so give it a local placeholder.
		sandboxParams = map[string]string{"PeerdomApiKeyParameterName": "local-env-key"}
	}
	for k, v := range sandboxParams {
		if _, declared := tpl.Params[k]; declared {
			params[k] = v
		}
	}
	for k, v := range opts.params {
		params[k] = v
	}
	if tpl, err = samtemplate.Load(opts.template, params); err != nil {
		return nil, err
	}
	s.params = tpl.Params
	s.busName = templateBusName(tpl)
	if opts.peerdomURL != "" && !opts.noActions {
		for _, m := range missingActionParams(tpl) {
			s.display.linef("  ! %s", m)
		}
	}
	// Serve counts what the deployed stack's metrics count by reading the same log lines.
	logger := slog.New(logCounter{next: logging.New(stderr, opts.logLevel).Handler(), c: s.counts})
	// The bus keeps counters, not events, so serve's memory stays flat however long it
	// runs; the queue is bounded (--max-backlog): beyond it ingest answers 503.
	eventBus := &membus.Bus{DropEvents: true} // enrich publishes its snapshots to it
	if opts.busHook != nil {
		opts.busHook(eventBus)
	}
	queue := &memqueue.Queue{MaxBacklog: cmp.Or(opts.maxBacklog, defaultMaxBacklog)}
	leases := leasesOnly{memstore.New(time.Now)} // the actions' leases
	var pending []localpipeline.StoredAction
	if opts.dataDir != "" {
		var err error
		if pending, err = s.openStore(queue); err != nil {
			return nil, err
		}
	}
	target := func(fn samtemplate.Function) (localpipeline.Target, error) {
		dir := strings.TrimSuffix(path.Clean(fn.CodeURI), "/")
		name := path.Base(dir)
		if opts.noActions {
			return notRun, nil // routed and shown; the route's Target is cleared below
		}
		if path.Dir(dir) != "functions/actions" || !slices.Contains(action.Builtins(), name) {
			// Not a shipped action: built and run under the Lambda emulator.
			return s.emulatedTarget(fn, stderr)
		}
		api, err := peerdomapi.New(apiURL, apiKey, peerdomapi.WithHTTPClient(&http.Client{
			Transport: &apiCallDisplay{action: name, display: s.display, next: http.DefaultTransport},
		}))
		if err != nil {
			return nil, err
		}
		getenv := func(k string) string { return fn.Env[k] }
		h, err := action.NewBuiltin(name, api, getenv, eventBus)
		if err != nil {
			return nil, err
		}
		ignore := action.ParseList(fn.Env["IGNORE_AUTHORS"])
		if e, ok := h.(*action.Enrich); ok && s.state != nil {
			// As in the Lambda: enrich keeps the entity state, of every change.
			e.State, ignore = s.state, nil
		}
		// The runner's log tells the display which events it ignored, and why.
		runnerLog := slog.New(logCounter{next: outcomeHandler{next: logger.Handler(), display: s.display}, c: s.counts, actions: true})
		// As in the Lambda (IdempotencyTable): a lease on what identifies the entity (its id,
		// else its name), so concurrent deliveries about one entity act one at a time.
		runner := &action.Runner{Name: name, Handler: h, IgnoreAuthors: ignore, Logger: runnerLog, Once: &action.Once{Store: leases}}
		handle := awsaction.EventBridgeHandler(runner)
		return func(ctx context.Context, ev events.EventBridgeEvent) error {
			return handle(withBlockRef(ctx, ev.ID, fn.LogicalID), ev) // its API calls and outcome join the event's block
		}, nil
	}
	routes, skipped, err := localpipeline.RoutesFromTemplate(tpl, target)
	if err != nil {
		return nil, err
	}
	s.display.maxRetries = map[string]int{}
	for _, r := range routes {
		s.display.maxRetries[r.Function] = r.MaxRetries
	}
	if opts.noActions {
		for i := range routes {
			routes[i].Target = nil // --no-actions: show where events would go, deliver none
		}
		s.display.noActions = true
	}
	for _, fn := range skipped {
		s.display.linef("  (function %s has rules but no local implementation: its events are shown, not delivered)", fn)
	}
	var source string
	if src, ok := tpl.Params["EventSource"]; ok {
		source = src
	}
	s.source = source
	var eventsOut io.Writer
	var eventsOutAt int64
	if opts.eventsOut != "" {
		f, at, err := s.openEventsOut(opts.eventsOut)
		if err != nil {
			return nil, fmt.Errorf("--events-out: %w", err)
		}
		s.eventsFile, eventsOut, eventsOutAt = f, f, at
	}
	var store localpipeline.Store
	if s.store != nil {
		store = s.store
	}
	pipeline := localpipeline.New(localpipeline.Config{
		Bus:               eventBus,
		Queue:             queue,
		Tokens:            tokens,
		Source:            source,
		Routes:            routes,
		Logger:            logger,
		MaxPendingActions: cmp.Or(opts.maxPending, defaultMaxPending),
		EventsOut:         eventsOut,
		EventsOutAt:       eventsOutAt,
		Store:             store,
		Pending:           pending,
		Observer: localpipeline.Observer{
			Event:      s.counts.countEvent(s.display.event),
			ActionDone: s.display.actionDone,
			DeadLetter: func(what string, err error) { s.display.linef("  ✗ dead-lettered: %s: %v", what, err) },
			WorkerError: func(err error) {
				s.display.linef("  ! worker: %v", err)
			},
		},
	})
	return pipeline, nil
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

// stopResult is what shutdown counted.
type stopResult struct {
	events, queueDead, actionsDead int
	spilled                        int    // items written to spillFile
	spillFile                      string // empty when nothing was spilled
	lost                           int    // undelivered items that could not be spilled
	kept                           int    // undelivered items kept in the store
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
	if u := "http://" + addr; u != defaultSendURL {
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
func listenAll(listen func(network, addr string) (net.Listener, error), opts serveOptions) ([4]net.Listener, error) {
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
	bind(0, "--addr", opts.addr)
	if opts.peerdomURL == "" {
		bind(1, "--sandbox-addr", opts.sandboxAddr)
	}
	if opts.awsAddr != "" {
		if ln, err := listenLocalAWS(listen, opts.awsAddr); err != nil {
			errs = append(errs, err)
		} else {
			lns[2] = ln
		}
	}
	if opts.adminAddr != "" {
		if ln, err := listenAdmin(listen, opts.adminAddr); err != nil {
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

// stop shuts down in order: the webhook server first, bounded on its own (open requests
// get opts.httpShutdown, then their connections are closed); then the queue, the bus,
// the actions and the sandbox webhooks they cause drain until idle or drainFor has
// passed; whatever is still undelivered then is written to the spill file.
func (s *stack) stop(drainFor time.Duration) (stopResult, error) {
	var errs []error
	if s.stopReconcile != nil {
		s.stopReconcile() // a run in progress ends; what it published is drained below
		<-s.reconcileEnded
	}
	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), cmp.Or(s.opts.httpShutdown, defaultHTTPShutdown))
	if err := s.server.Shutdown(httpCtx); err != nil {
		s.server.Close() // the stragglers: their requests were never answered, so never accepted
		s.display.linef("  ! webhook server: requests still open after %s were cut off", cmp.Or(s.opts.httpShutdown, defaultHTTPShutdown))
	}
	cancelHTTP()
	s.stopAdmin() // no redrive may add work once the drain has begun
	s.stopLocalAWS(cmp.Or(s.opts.httpShutdown, defaultHTTPShutdown))
	s.handlers.Wait() // a request cut off returns at once: its body read fails

	drainCtx, cancelDrain := context.WithTimeout(context.Background(), drainFor)
	defer cancelDrain()
	drained := true
	for {
		if err := s.pipeline.Drain(drainCtx); err != nil {
			drained = false
			break
		}
		if s.sandbox == nil {
			break
		}
		if err := s.sandbox.WaitWebhooks(drainCtx); err != nil {
			drained = false
			break
		}
		if s.pipeline.Idle() {
			break // nothing new came in while the sandbox delivered
		}
	}
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
	res := stopResult{
		events:      s.pipeline.Bus.Accepted(),
		queueDead:   len(s.pipeline.Queue.DeadLetters()),
		actionsDead: len(s.pipeline.DeadActions()),
	}
	if s.store != nil {
		res.kept = len(s.pipeline.Queue.Pending()) + len(pendingActions)
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("data dir: %w", err))
		}
	}
	items := spillItems(s.pipeline.Queue.Pending(), pendingActions)
	if s.store != nil {
		items = nil // kept in the store, not spilled
	}
	if len(items) > 0 {
		name := s.opts.spill
		if name == "" {
			name = "peerbridge-spill-" + time.Now().UTC().Format("20060102T150405Z") + ".jsonl"
		}
		if err := writeSpill(name, items); err != nil {
			errs = append(errs, fmt.Errorf("spill file: %w", err))
			res.lost = len(items)
		} else {
			res.spilled, res.spillFile = len(items), name
		}
	}
	summary := fmt.Sprintf("stopped: %d events on the bus, %d queue messages and %d action events dead-lettered", res.events, res.queueDead, res.actionsDead)
	if res.spilled > 0 {
		summary += fmt.Sprintf(", %d undelivered kept in %s", res.spilled, res.spillFile)
	}
	if res.kept > 0 {
		summary += fmt.Sprintf(", %d undelivered kept in %s for the next start", res.kept, s.opts.dataDir)
	}
	if res.lost > 0 {
		summary += fmt.Sprintf(", %d LOST", res.lost)
	}
	s.display.linef("%s", summary)
	return res, errors.Join(errs...)
}

// shutdown is stop for callers that want only its error (the tests).
func (s *stack) shutdown(ctx context.Context) error {
	drainFor := time.Minute
	if d, ok := ctx.Deadline(); ok {
		drainFor = time.Until(d)
	}
	res, err := s.stop(drainFor)
	if err == nil && (res.spilled > 0 || res.lost > 0) {
		err = fmt.Errorf("shutdown left %d spilled and %d lost", res.spilled, res.lost)
	}
	return err
}

// replaySpill restores a spill file into the pipeline, before it starts.
func (s *stack) replaySpill(name string) error {
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
func (s *stack) closeStore() {
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
