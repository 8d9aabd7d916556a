// Package costrun runs webhooks through the local pipeline (internal/localpipeline, with
// the template's actions) and counts what the deployed stack would be billed for: every
// AWS request by function, service and operation (SQS and EventBridge at the ports the
// functions use, DynamoDB through the real adapters on a counting twin), the log bytes
// each function writes, and the custom metrics its EMF lines record. Its counts are the
// figures `peerbridge cost` prices (internal/cost/figures.json), and its test holds
// cost's prediction for N webhooks to a counted run of N.
package costrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/cost"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// Code folders of the functions the run builds as their main.go does.
const (
	codeIngest    = "functions/ingest"
	codeWorker    = "functions/worker"
	codeReconcile = "functions/reconcile"
)

// counter holds what a run counted.
type counter struct {
	mu        sync.Mutex
	functions map[string]*cost.FunctionCount
	requests  map[string]*cost.RequestCount
	metrics   map[string]*cost.MetricCount
}

func newCounter() *counter {
	return &counter{functions: map[string]*cost.FunctionCount{}, requests: map[string]*cost.RequestCount{}, metrics: map[string]*cost.MetricCount{}}
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.functions)
	clear(c.requests)
	clear(c.metrics)
}

func (c *counter) invoked(code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fn(code).Invocations++
}

func (c *counter) fn(code string) *cost.FunctionCount {
	f := c.functions[code]
	if f == nil {
		f = &cost.FunctionCount{Code: code}
		c.functions[code] = f
	}
	return f
}

func (c *counter) request(code, service, op string, units, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := code + " " + service + " " + op
	r := c.requests[key]
	if r == nil {
		r = &cost.RequestCount{Function: code, Service: service, Operation: op}
		c.requests[key] = r
	}
	r.Calls++
	r.Units += units
	r.Bytes += bytes
}

func (c *counter) counts() cost.Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out cost.Counts
	for _, f := range c.functions {
		out.Functions = append(out.Functions, *f)
	}
	for _, r := range c.requests {
		out.Requests = append(out.Requests, *r)
	}
	for _, m := range c.metrics {
		out.Metrics = append(out.Metrics, *m)
	}
	out.Sort()
	return out
}

// chunks64K is how many 64 KB chunks SQS and EventBridge bill a payload as.
func chunks64K(n int) int { return max(1, (n+65535)/65536) }

// volatile are the log fields whose width depends on the moment, not on the webhook: a
// duration's digits. The log writer counts each as 3 digits (100-999 ms, a call to the
// Peerdom API), so a count does not depend on this machine's speed.
// A log line's time has as many fraction digits as it needs (slog writes RFC 3339 with
// trailing zeros cut): each is counted at its longest, nine digits.
var volatile = regexp.MustCompile(`"(durationMs|ms|latencyMs|elapsedMs)":[0-9.]+|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

// fixedTimes counts every RFC 3339 UTC time in b at its longest (nine fraction digits):
// the event details' times vary in width with the moment, as the log lines' do.
func fixedTimes(b []byte) []byte {
	return timeRE.ReplaceAll(b, []byte("2006-01-02T15:04:05.000000000Z"))
}

var timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

// logWriter is a function's log group: it counts the lines and bytes written (volatile
// fields normalized) and the custom metrics of its EMF lines.
type logWriter struct {
	c    *counter
	code string
	mu   sync.Mutex
	buf  []byte
	Echo io.Writer // optional: a copy of every line, for a look at what is written
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// leaseWait is the action runner's note of a wait for its lease: logged when taking the
// lease took 1 ms or more, which here depends on the machine's load. Not counted (on
// AWS the DynamoDB call alone takes that long, so it is on every action line: 18 bytes).
var leaseWait = regexp.MustCompile(`"leaseWaitMs":[0-9]+,`)

func (w *logWriter) line(l []byte) {
	l = leaseWait.ReplaceAll(l, nil)
	norm := volatile.ReplaceAllFunc(l, func(m []byte) []byte {
		if !bytes.HasPrefix(m, []byte(`"`)) {
			return []byte("2006-01-02T15:04:05.000000000Z")
		}
		k, _, _ := bytes.Cut(m, []byte(":"))
		return append(append([]byte{}, k...), ":123"...)
	})
	if w.Echo != nil {
		fmt.Fprintf(w.Echo, "%s: %s\n", w.code, norm)
	}
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	f := w.c.fn(w.code)
	f.LogLines++
	f.LogBytes += len(norm) + 1
	for _, m := range emfMetrics(l) {
		key := w.code + " " + m.Name + " " + m.Dimensions
		mc := w.c.metrics[key]
		if mc == nil {
			mc = &cost.MetricCount{Function: w.code, Name: m.Name, Dimensions: m.Dimensions}
			w.c.metrics[key] = mc
		}
		mc.Datapoints++
	}
}

// emfMetrics are the metrics an EMF line records: each metric under each dimension set.
func emfMetrics(line []byte) []cost.MetricCount {
	if !bytes.Contains(line, []byte(`"_aws"`)) {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal(line, &doc) != nil {
		return nil
	}
	aws, _ := doc["_aws"].(map[string]any)
	dirs, _ := aws["CloudWatchMetrics"].([]any)
	var out []cost.MetricCount
	for _, d := range dirs {
		dm, _ := d.(map[string]any)
		sets, _ := dm["Dimensions"].([]any)
		ms, _ := dm["Metrics"].([]any)
		for _, m := range ms {
			name, _ := m.(map[string]any)["Name"].(string)
			for _, set := range sets {
				dims, _ := set.([]any)
				var parts []string
				for _, dn := range dims {
					n, _ := dn.(string)
					parts = append(parts, fmt.Sprintf("%s=%v", n, doc[n]))
				}
				sort.Strings(parts)
				out = append(out, cost.MetricCount{Name: name, Dimensions: strings.Join(parts, ",")})
			}
		}
	}
	return out
}

// countingSender is the webhook queue as ingest sees it: one SendMessage per message.
type countingSender struct {
	next queue.Sender
	c    *counter
}

func (s countingSender) Send(ctx context.Context, body string) error {
	n := len(fixedTimes([]byte(body)))
	s.c.request(codeIngest, "sqs", "SendMessage", chunks64K(n), n)
	return s.next.Send(ctx, body)
}

// countingBus is the bus as a function sees it: one PutEvents per call (the adapter,
// internal/bus/eventbridgebus, sends a call as one request), billed per 64 KB chunk of
// each entry.
type countingBus struct {
	next bus.Putter
	c    *counter
	code string
}

func (b countingBus) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	units, size := 0, 0
	for _, e := range entries {
		e.Detail = string(fixedTimes([]byte(e.Detail)))
		units += chunks64K(e.Size())
		size += e.Size()
	}
	b.c.request(b.code, "events", "PutEvents", units, size)
	return b.next.PutEvents(ctx, entries)
}

// Config says what to run.
type Config struct {
	Template string            // template.yaml's path
	Params   map[string]string // parameter values over the template's defaults (and the sandbox's)
	Cases    []corpus.Case     // the webhooks, sent in this order, round after round
	Echo     io.Writer         // optional: every log line written, for a look
}

// Pipeline is the local pipeline with its actions, counting.
type Pipeline struct {
	cfg      Config
	c        *counter
	p        *localpipeline.Pipeline
	sandbox  *peerdomtest.Peerdom
	routes   []localpipeline.Route
	pending  []events.CloudWatchEvent
	pendMu   sync.Mutex
	token    string
	tpl      *samtemplate.Template
	db       *dynamo
	dbFn     string // the function the DynamoDB calls being made are counted to
	dbMu     sync.Mutex
	webhooks int
}

// Functions are the code folders of the template's functions (with the run's
// parameters) that the run counts.
func (p *Pipeline) Template() *samtemplate.Template { return p.tpl }

// SandboxParams are the parameters that deploy every shipped action against the sandbox,
// as `peerbridge serve` gives them: an API key secret name, an onboarding role, a role
// default and the key owner as the ignored author.
func SandboxParams(onboardingRole, owner string) map[string]string {
	return map[string]string{
		"PeerdomApiKeyParameterName": "local-sandbox",
		"OnboardingRoleIds":          onboardingRole,
		"RoleDefaults":               `{"Purpose":"To be defined"}`,
		"IgnoreAuthors":              owner,
	}
}

// sandboxURL is the sandbox API's base URL; handlerTransport serves it in process.
const sandboxURL = "http://127.0.0.1:9" + peerdomtest.APIPrefix

const onboardingRoleID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

// New builds the pipeline. The sandbox holds every entity the cases name (the webhook
// tells of a change to an entity that exists, as Peerdom's do), except deleted ones.
func New(cfg Config) (*Pipeline, error) {
	p := &Pipeline{cfg: cfg, c: newCounter(), token: "costrun-token-0123456789abcdef"}
	p.sandbox = peerdomtest.New(peerdomtest.Config{})
	p.sandbox.AddRole(peerdomapi.Role{ID: onboardingRoleID, Name: "Onboarding buddy"})
	seedCases(p.sandbox, cfg.Cases)
	params := SandboxParams(onboardingRoleID, p.sandbox.Config().OwnerEmail)
	for k, v := range cfg.Params {
		params[k] = v
	}
	tpl, err := samtemplate.Load(cfg.Template, nil)
	if err != nil {
		return nil, err
	}
	for k := range params {
		if _, declared := tpl.Params[k]; !declared {
			delete(params, k) // e.g. Metrics on a template without it
		}
	}
	if p.tpl, err = samtemplate.Load(cfg.Template, params); err != nil {
		return nil, err
	}
	p.db = newDynamo(func(op string, units, size int) {
		p.c.request(p.dbFn, "dynamodb", op, units, size)
	})
	tokens, err := ingest.NewTokens([]string{p.token})
	if err != nil {
		return nil, err
	}
	fns, err := p.tpl.Functions()
	if err != nil {
		return nil, err
	}
	env := map[string]map[string]string{}
	for _, fn := range fns {
		env[path.Clean(fn.CodeURI)] = fn.Env
	}
	ingestEnv, workerEnv := env[codeIngest], env[codeWorker]
	if ingestEnv == nil || workerEnv == nil {
		return nil, fmt.Errorf("the template deploys no %s or %s", codeIngest, codeWorker)
	}
	p.p = localpipeline.New(localpipeline.Config{Tokens: tokens, Source: workerEnv["EVENT_SOURCE"]})
	ingestLog := p.logWriter(codeIngest)
	p.p.Ingest.Queue = countingSender{next: p.p.Queue, c: p.c}
	p.p.Ingest.Source = ingestEnv["EVENT_SOURCE"]
	p.p.Ingest.Logger = functionLogger(ingestLog, getter(ingestEnv))
	p.p.Ingest.Metrics = functionMetrics(ingestLog, getter(ingestEnv))
	workerLog := p.logWriter(codeWorker)
	p.p.Worker.Bus = countingBus{next: p.p.Bus, c: p.c, code: codeWorker}
	p.p.Worker.Logger = functionLogger(workerLog, getter(workerEnv))
	p.p.Worker.Metrics = functionMetrics(workerLog, getter(workerEnv))
	p.p.Bus.Subscribe(func(e membus.Event) {
		p.pendMu.Lock()
		p.pending = append(p.pending, e.CloudWatchEvent())
		p.pendMu.Unlock()
	})
	p.routes, _, err = localpipeline.RoutesFromTemplate(p.tpl, p.target)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// functionLogger and functionMetrics build the logger and metrics writer of ingest, the
// worker and reconcile as their functions/<name>/main.go do: the counts are only what the
// deployed function writes while these copy main.go. The actions are built by the
// constructor their main.go calls (internal/builtin). Wiring lists both; a test holds
// each main.go and this file to them, so a change there fails until it is made here too.
func functionLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	return logging.Lambda(w, getenv("LOG_LEVEL"))
}

func functionMetrics(w io.Writer, getenv func(string) string) *metrics.Writer {
	return metrics.FromEnv(w, getenv)
}

// Wire is how the run builds a function: Main are expressions of its main.go, Run the
// expressions of this file that build the same (a copy of Main's, or the same
// constructor called on the twins).
type Wire struct{ Main, Run []string }

// actionWire is an action's: builtin.NewLambda, its tables (AWS calls Tables), its
// handler in the runner (Handler calls Runner; main names the action's constructor, the
// run takes it from HandlerOf), and enrich's entity state (State calls StateTable).
func actionWire(constructor string, more ...string) Wire {
	return Wire{
		Main: append([]string{`builtin.NewLambda(action.Name`, `fn.AWS(context.Background())`, `fn.Handler(adapters, err, builtin.` + constructor + `)`}, more...),
		Run: []string{`builtin.NewLambda(name, getenv, p.logWriter(code))`, `lambdaFn.Tables(p.db)`, `builtin.HandlerOf(name)`,
			`lambdaFn.Runner(adapters, lambdaFn.Err, newHandler)`, `builtin.StateTable(p.db, getenv("STATE_TABLE"))`},
	}
}

// Wiring is each function's Wire.
var Wiring = map[string]Wire{
	"functions/ingest": {Main: []string{`logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL"))`, `metrics.FromEnv(os.Stdout, getenv)`},
		Run: []string{`functionLogger(ingestLog, getter(ingestEnv))`, `functionMetrics(ingestLog, getter(ingestEnv))`}},
	"functions/worker": {Main: []string{`logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL"))`, `metrics.FromEnv(os.Stdout, getenv)`},
		Run: []string{`functionLogger(workerLog, getter(workerEnv))`, `functionMetrics(workerLog, getter(workerEnv))`}},
	"functions/actions/enrich":        actionWire("Enrich", `fn.State(os.Getenv("STATE_TABLE"))`),
	"functions/actions/onboard-peer":  actionWire("OnboardPeer"),
	"functions/actions/role-defaults": actionWire("RoleDefaults"),
	"functions/reconcile": {Main: []string{`logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL")).With(slog.String("function", "reconcile"))`, `reconcile.Lambda{`},
		Run: []string{`functionLogger(w, getter(env)).With(slog.String("function", "reconcile"))`, `reconcile.Lambda{`}},
}

func getter(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func (p *Pipeline) logWriter(code string) *logWriter {
	return &logWriter{c: p.c, code: code, Echo: p.cfg.Echo}
}

// target builds a shipped action as its functions/actions/<name>/main.go does, on the
// counting bus and DynamoDB twin and the sandbox.
func (p *Pipeline) target(fn samtemplate.Function) (localpipeline.Target, error) {
	code := path.Clean(fn.CodeURI)
	name := path.Base(code)
	if path.Dir(code) != "functions/actions" || !slices.Contains(action.Builtins(), name) {
		return nil, nil
	}
	api, err := peerdomapi.New(sandboxURL, p.sandbox.Config().APIKey,
		peerdomapi.WithHTTPClient(&http.Client{Transport: handlerTransport{h: p.sandbox, c: p.c, code: code}}))
	if err != nil {
		return nil, err
	}
	// As functions/actions/<name>/main.go: builtin.NewLambda, its adapters (the tables on
	// the DynamoDB twin, the counting bus), the action's handler in its runner.
	getenv := getter(fn.Env)
	lambdaFn := builtin.NewLambda(name, getenv, p.logWriter(code))
	adapters := lambdaFn.Tables(p.db)
	adapters.API, adapters.Bus = api, countingBus{next: p.p.Bus, c: p.c, code: code}
	adapters.State = builtin.StateTable(p.db, getenv("STATE_TABLE"))
	newHandler, err := builtin.HandlerOf(name)
	if err != nil {
		return nil, err
	}
	runner, err := lambdaFn.Runner(adapters, lambdaFn.Err, newHandler)
	if err != nil {
		return nil, err
	}
	handle := awsaction.EventBridgeHandler(runner)
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		p.c.invoked(code)
		p.dbMu.Lock()
		p.dbFn = code
		defer p.dbMu.Unlock()
		return handle(ctx, ev)
	}, nil
}

// handlerTransport serves requests with an http.Handler, in process.
type handlerTransport struct {
	h    http.Handler
	c    *counter
	code string // the function calling
}

// RoundTrip counts each call of the Peerdom API (not billed by AWS, but what an action's
// billed duration is made of) and serves it.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.c != nil {
		t.c.request(t.code, "peerdom", r.Method, 0, 0)
	}
	rec := httptest.NewRecorder()
	if r.URL.Host == "" {
		r.URL.Host, r.Host = "127.0.0.1:9", "127.0.0.1:9"
	}
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Send runs webhooks through the pipeline, one at a time as a quiet organization sends
// them (each webhook a batch of one for the worker): ingest, the worker, then every
// action its events match, and the actions' own events in turn. An action that fails is
// an error: a counted run must not count retries by accident.
func (p *Pipeline) Send(ctx context.Context, n int) error { return p.SendBatched(ctx, n, 1) }

// SendBatched runs n webhooks through the pipeline in worker batches of k (the last one
// smaller when k does not divide n), as the worker's event source gathers them within
// its batching window at volume: k webhooks are ingested, then the worker takes them in
// one invocation, then the actions get the events. The event source's requests are
// counted as priced: one ReceiveMessage a webhook (at these rates each arrival ends a
// long poll, whatever the batch), one DeleteMessageBatch a batch (10 messages a call).
func (p *Pipeline) SendBatched(ctx context.Context, n, k int) error {
	if k < 1 || k > queue.MaxBatch {
		return fmt.Errorf("a worker batch of %d webhooks: want 1 to %d", k, queue.MaxBatch)
	}
	for sent := 0; sent < n; {
		size := min(k, n-sent)
		var names []string
		for range size {
			c := p.cfg.Cases[p.webhooks%len(p.cfg.Cases)]
			p.webhooks++
			sent++
			names = append(names, c.Name)
			p.c.invoked(codeIngest)
			resp := p.p.Ingest.Handle(ctx, ingest.Request{Method: http.MethodPost, Token: p.token, Body: c.Body,
				SourceIP: "203.0.113.7", UserAgent: "Peerdom-Webhooks"})
			if resp.Status != http.StatusOK {
				return fmt.Errorf("webhook %s: ingest answered %d %s", c.Name, resp.Status, resp.Body)
			}
		}
		var sizes []int
		for {
			got, err := p.p.Queue.Poll(ctx, size, func(ctx context.Context, batch []queue.Message) ([]string, error) {
				p.c.invoked(codeWorker)
				// The event source mapping's receives and delete, made for the worker.
				for _, m := range batch {
					n := len(fixedTimes([]byte(m.Body)))
					p.c.request(codeWorker+cost.EventSource, "sqs", "ReceiveMessage", chunks64K(n), n)
				}
				for range (len(batch) + 9) / 10 {
					p.c.request(codeWorker+cost.EventSource, "sqs", "DeleteMessageBatch", 1, 0)
				}
				return p.p.Worker.Handle(ctx, batch)
			})
			if err != nil {
				return fmt.Errorf("webhooks %v: worker: %w", names, err)
			}
			if got == 0 {
				break
			}
			sizes = append(sizes, got)
		}
		if len(sizes) != 1 || sizes[0] != size {
			return fmt.Errorf("webhooks %v: the worker got batches of %v, want one of %d", names, sizes, size)
		}
		if err := p.deliver(ctx); err != nil {
			return fmt.Errorf("webhooks %v: %w", names, err)
		}
	}
	return nil
}

// deliver hands each event on the bus to the actions whose rules match it, until none
// is left (an action may publish more).
func (p *Pipeline) deliver(ctx context.Context) error {
	for {
		p.pendMu.Lock()
		evs := p.pending
		p.pending = nil
		p.pendMu.Unlock()
		if len(evs) == 0 {
			return nil
		}
		for _, ev := range evs {
			decoded, err := decode(ev)
			if err != nil {
				return err
			}
			for _, r := range p.routes {
				if r.Target == nil || !r.Pattern.MatchEvent(decoded) {
					continue
				}
				if err := r.Target(ctx, ev); err != nil {
					return fmt.Errorf("%s on %s: %w", r.Function, ev.DetailType, err)
				}
			}
		}
	}
}

func decode(ev events.CloudWatchEvent) (map[string]any, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

// Counts are what the run has counted so far.
func (p *Pipeline) Counts() cost.Counts { return p.c.counts() }

// Reset forgets the counts (the pipeline's state, the sandbox's and the tables', stay).
func (p *Pipeline) Reset() { p.c.reset() }

// countingTransport tells count of each request.
type countingTransport struct {
	next  http.RoundTripper
	count func(method string)
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.count(r.Method)
	return t.next.RoundTrip(r)
}

// seedCases adds to the sandbox the entities the cases name as created or updated.
func seedCases(sb *peerdomtest.Peerdom, cases []corpus.Case) {
	for _, c := range cases {
		id, _ := c.Detail["entityId"].(string)
		act, _ := c.Detail["action"].(string)
		name, _ := c.Detail["name"].(string)
		if (id == "" && name == "") || act == "deleted" {
			continue
		}
		switch c.Detail["entity"] {
		case "role":
			if _, ok := sb.Role(id); !ok || id == "" {
				sb.AddRole(peerdomapi.Role{ID: id, Name: name})
			}
		case "group", "circle":
			if _, ok := sb.Group(id); !ok || id == "" {
				sb.AddGroup(peerdomapi.Group{ID: id, Name: name})
			}
		case "peer":
			if _, ok := sb.Peer(id); !ok || id == "" {
				first, last, _ := strings.Cut(name, " ")
				sb.AddPeer(peerdomapi.Peer{ID: id, FirstName: first, LastName: last})
			}
		}
	}
}
