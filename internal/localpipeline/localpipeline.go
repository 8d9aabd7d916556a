// Package localpipeline runs the deployed pipeline on one machine: the same ingest and
// worker handlers as the Lambdas, an in-memory queue (internal/queue/memqueue) and bus
// (internal/bus/membus), and rules that deliver the bus's events to local targets (the actions)
// by the event patterns of template.yaml. `peerbridge serve` wires it to HTTP.
//
// Delivery follows AWS's: a queued message is retried until it has been received
// memqueue.DefaultMaxReceives times, then dead-lettered; an event a rule matches is
// handed to its target asynchronously, retried MaxRetries times on error, then
// dead-lettered. Nothing accepted vanishes: it ends on the bus or in a dead-letter list.
package localpipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/worker"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Target handles the events a rule delivers, like a Lambda function behind an
// EventBridge rule; an error asks for a retry.
type Target func(ctx context.Context, ev events.EventBridgeEvent) error

// Route is one rule: events matching Pattern go to Target.
type Route struct {
	Function   string // the template's logical id of the target function
	Rule       string // the rule's name in the template
	Pattern    *eventpattern.Pattern
	Target     Target // nil: matching events are shown as routed, not delivered
	MaxRetries int
}

// DeadAction is an event whose target failed on every attempt.
type DeadAction struct {
	Function string
	Event    events.EventBridgeEvent
	Err      error
}

// Observer is told of the worker's own failures (a poll or a store write that failed),
// for a terminal display; what the pipeline does is in its record (Config.Observe).
type Observer struct {
	WorkerError func(err error)
}

// Pipeline is the queue, the bus, the handlers and the rules. Build it with New.
type Pipeline struct {
	Queue  *memqueue.Queue
	Bus    *membus.Bus
	Ingest *ingest.Handler
	Worker *worker.Handler
	Routes []Route

	observer Observer
	obsMu    sync.Mutex // one --events-out line at a time
	obs      *observe.Stream
	logger   *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond
	jobs    []job // matched events waiting for their target
	running int   // jobs being handled
	dead    []DeadAction
	closed  bool
	stopped bool // Stop: targets take no more jobs
	// entityBusy holds the entity keys of the jobs being delivered: a target gets one
	// event per entity at a time, as the actions' lease per entity ensures when deployed
	// (two events about one peer, handled at once, would both check and both write).
	entityBusy map[string]bool
	wg         sync.WaitGroup

	seenQueueDead map[string]bool // ids of the queue dead letters already told to the observer
	retryIn       func(attempt int) time.Duration
	// matchDetail: some rule's pattern reads the detail, so routing decodes each event's
	// detail whole; otherwise it does not decode it.
	matchDetail bool

	// The action stage's bound (Config.MaxPendingActions); room is signalled when a job
	// ends, for the worker waiting for room.
	maxJobs int
	room    *sync.Cond

	// With a Store (store.go): events routed but not yet committed, and what the
	// worker's current batch is (delivery id -> queue message id).
	store        Store
	commitMu     sync.Mutex
	staged       []staged
	stageGen     uint64
	committedGen uint64
	batch        map[string]string
	published    map[string]bool // messages of the current batch with an event on the bus
	eventsOut    io.Writer
	eventsOutAt  int64
}

type job struct {
	route      *Route
	deliveryID string // the event's delivery id, for the records; "": read when needed
	event      events.CloudWatchEvent
	attempt    int
	entity     string // route.Function + detail.entityId; empty: no entity to serialize on
	key        uint64 // its key in the Store; 0: not stored
}

// Config is what New needs.
type Config struct {
	Tokens   ingest.TokenSource
	Source   string // the events' source; empty: peerdom.DefaultSource
	Routes   []Route
	Observer Observer
	// Observe, when set, gets the typed record of everything the pipeline does
	// (observe.go): webhooks, events, routing, action attempts and outcomes, retries,
	// dead letters, redrives.
	Observe *observe.Stream
	Logger  *slog.Logger // the handlers' JSON logs; nil: none
	// Queue and Bus may be given (e.g. with fault hooks set); nil: new empty ones.
	Queue *memqueue.Queue
	Bus   *membus.Bus
	// RetryDelay is the pause before a target's retry; nil: 100ms doubling to 2s.
	RetryDelay func(attempt int) time.Duration
	// MaxPendingActions bounds the action stage: while this many matched events wait
	// for (or are in) their targets, the worker takes nothing from the queue, so the
	// queue fills and ingest answers 503 (with the queue's MaxBacklog). 0: unbounded.
	MaxPendingActions int
	// EventsOut, when set, gets each bus event as EventBridge delivers it to a target,
	// one JSON line each; EventsOutAt is its length when given (kept by the Store).
	EventsOut   io.Writer
	EventsOutAt int64
	// Store, when set, keeps the pending actions on disk (store.go), and Pending are the
	// ones it held at start, delivered first.
	Store   Store
	Pending []StoredAction
}

// New builds a pipeline. Call Start to run its worker and targets.
func New(cfg Config) *Pipeline {
	p := &Pipeline{
		Queue:       cfg.Queue,
		Bus:         cfg.Bus,
		Routes:      cfg.Routes,
		observer:    cfg.Observer,
		obs:         cfg.Observe,
		logger:      cfg.Logger,
		retryIn:     cfg.RetryDelay,
		maxJobs:     cfg.MaxPendingActions,
		store:       cfg.Store,
		eventsOut:   cfg.EventsOut,
		eventsOutAt: cfg.EventsOutAt,
	}
	if p.Queue == nil {
		p.Queue = memqueue.New()
	}
	if p.Queue.Name == "" {
		p.Queue.Name = "peerbridge-webhooks"
	}
	if p.Bus == nil {
		p.Bus = membus.New()
	}
	if p.retryIn == nil {
		p.retryIn = func(attempt int) time.Duration {
			return min(100*time.Millisecond<<(attempt-1), 2*time.Second)
		}
	}
	for _, r := range p.Routes {
		p.matchDetail = p.matchDetail || readsDetail(r.Pattern)
	}
	p.cond = sync.NewCond(&p.mu)
	p.room = sync.NewCond(&p.mu)
	p.restore(cfg.Pending)
	p.Ingest = &ingest.Handler{Tokens: cfg.Tokens, Queue: p.Queue, Source: cfg.Source, Logger: cfg.Logger}
	p.Worker = &worker.Handler{Bus: p.Bus, Source: cfg.Source, Logger: cfg.Logger}
	if p.obs != nil {
		p.Worker.Failed = func(messageID, delivery string, err error) {
			p.obs.Publish(observe.Record{Kind: observe.KindDeliveryFail, DeliveryID: delivery,
				DeliveryFail: &observe.DeliveryFail{MessageID: messageID, Error: err.Error()}})
		}
	}
	p.Bus.Subscribe(p.route)
	return p
}

// RoutesFromTemplate compiles the rules of the template's functions. target gives the
// local implementation of a function; a function it has none for is returned in
// skipped, so the caller can say so.
func RoutesFromTemplate(t *samtemplate.Template, target func(samtemplate.Function) (Target, error)) (routes []Route, skipped []string, err error) {
	fns, err := t.Functions()
	if err != nil {
		return nil, nil, err
	}
	for _, fn := range fns {
		if len(fn.Rules) == 0 {
			continue
		}
		tgt, err := target(fn)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fn.LogicalID, err)
		}
		if tgt == nil {
			skipped = append(skipped, fn.LogicalID)
			continue
		}
		for _, r := range fn.Rules {
			pat, err := eventpattern.Compile(r.Pattern)
			if err != nil {
				return nil, nil, fmt.Errorf("%s rule %s: %w", fn.LogicalID, r.Name, err)
			}
			routes = append(routes, Route{Function: fn.LogicalID, Rule: r.Name, Pattern: pat, Target: tgt, MaxRetries: fn.MaxRetries})
		}
	}
	return routes, skipped, nil
}

// Start runs the worker (polling the queue as Lambda's event source mapping does) and
// `targets` goroutines delivering matched events, until Close.
func (p *Pipeline) Start(ctx context.Context, targets int) {
	p.wg.Add(1)
	go p.pollLoop(ctx)
	for range max(targets, 1) {
		p.wg.Add(1)
		go p.targetLoop(ctx)
	}
}

func (p *Pipeline) pollLoop(ctx context.Context) {
	defer p.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.Queue.Ready():
		case <-time.After(200 * time.Millisecond): // a safety net: Ready is edge-triggered
		}
		if !p.waitRoom(ctx) {
			return
		}
		p.batchWindow(ctx)
		for p.hasRoom() {
			n, err := p.Queue.Poll(ctx, memqueue.MaxBatch, p.invokeWorker)
			if err != nil {
				p.workerError(err)
			}
			if n == 0 || ctx.Err() != nil {
				break
			}
		}
		p.noteDeadLetters()
	}
}

// waitRoom waits while the action stage is full; false: the pipeline is closing.
func (p *Pipeline) waitRoom(ctx context.Context) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.maxJobs > 0 && len(p.jobs)+p.running >= p.maxJobs && !p.closed && ctx.Err() == nil {
		p.room.Wait()
	}
	return !p.closed && ctx.Err() == nil
}

// hasRoom reports whether the action stage is below its bound.
func (p *Pipeline) hasRoom() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxJobs <= 0 || len(p.jobs)+p.running < p.maxJobs
}

// PendingActions is how many matched events wait for, or are in, their targets.
func (p *Pipeline) PendingActions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.jobs) + p.running
}

// workerTimeout is the worker function's Timeout in template.yaml.
const workerTimeout = 30 * time.Second

// invokeWorker hands one batch to the worker as Lambda invokes it: with the function's
// deadline, which the worker shares out among the batch's messages.
func (p *Pipeline) invokeWorker(ctx context.Context, batch []queue.Message) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, workerTimeout)
	defer cancel()
	if p.store == nil {
		return p.Worker.Handle(ctx, batch)
	}
	return p.invokeWorkerStored(ctx, batch)
}

// BatchWindow is how long the worker waits, once woken, for a full batch of messages
// (like the batching window of Lambda's SQS event source mapping): a webhook reaches the
// bus up to this much later, and under load the worker handles ten per poll instead of
// one, each poll's fixed cost (the handoff, the batch, PutEvents) shared.
const BatchWindow = time.Millisecond

func (p *Pipeline) batchWindow(ctx context.Context) {
	if p.Queue.Len() >= memqueue.MaxBatch {
		return
	}
	t := time.NewTimer(BatchWindow)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// noteDeadLetters tells the observer of messages newly moved to the queue's DLQ.
func (p *Pipeline) noteDeadLetters() {
	// By id, not by count: a redrive (RedriveQueue) takes letters out of the list; p.mu
	// is held from the read to the update so that a redrive falls before or after both.
	var fresh []queue.Message
	p.mu.Lock()
	dead := p.Queue.DeadLetters()
	if len(dead) == 0 { // the usual case, every poll: no map to build
		p.seenQueueDead = nil
		p.mu.Unlock()
		return
	}
	told := make(map[string]bool, len(dead))
	for _, m := range dead {
		if !p.seenQueueDead[m.ID] {
			fresh = append(fresh, m)
		}
		told[m.ID] = true
	}
	p.seenQueueDead = told
	p.mu.Unlock()
	for _, m := range fresh {
		if p.obs != nil {
			var env struct {
				ID string `json:"id"`
			}
			json.Unmarshal([]byte(m.Body), &env)
			p.obs.Publish(observe.Record{Kind: observe.KindDeadLetter, DeliveryID: env.ID, DeadLetter: &observe.DeadLetter{
				Queue: observe.QueueWebhooks, MessageID: m.ID, Error: fmt.Sprintf("received %d times without being published", m.ReceiveCount)}})
		}
	}
}

// route is the bus's subscriber: it matches each accepted event against the rules and
// queues a job per match. It never blocks on a target, since it runs inside PutEvents.
func (p *Pipeline) route(e membus.Event) {
	cw := e.CloudWatchEvent()
	if p.store != nil {
		p.routeStored(cw)
		return
	}
	detail, routedTo, matched, jobs := p.match(cw)
	// The record first: an action's outcome must not come before its event.
	var raw []byte
	if p.eventsOut != nil || p.obs != nil {
		raw, _ = json.Marshal(cw)
	}
	if raw != nil && p.eventsOut != nil {
		p.obsMu.Lock() // the bus's publishers run at once: one line at a time
		p.eventsOut.Write(append(raw, '\n'))
		p.obsMu.Unlock()
	}
	p.notePublished(cw, detail, routedTo, matched, raw, jobs)
	if len(jobs) == 0 {
		return
	}
	p.mu.Lock()
	for _, j := range jobs {
		p.jobs = append(p.jobs, j)
		p.cond.Signal() // one target per job: waking them all would cost a handoff each
	}
	p.mu.Unlock()
}

// match is the rules' verdict on one event: the functions it is routed to, the routes
// that matched, and a job for each that has a target.
func (p *Pipeline) match(cw events.CloudWatchEvent) (detail map[string]any, routedTo []string, matched []*Route, jobs []job) {
	if len(p.Routes) == 0 {
		return nil, nil, nil, nil
	}
	decoded, err := decodedEvent(cw, p.matchDetail)
	if err != nil {
		return nil, nil, nil, nil
	}
	detail, _ = decoded["detail"].(map[string]any)
	for i := range p.Routes {
		r := &p.Routes[i]
		if r.Pattern.MatchEvent(decoded) {
			routedTo = append(routedTo, r.Function)
			matched = append(matched, r)
			if r.Target != nil {
				jobs = append(jobs, job{route: r, event: cw, attempt: 1, entity: entityKey(r.Function, cw.Detail, detail)})
			}
		}
	}
	return detail, routedTo, matched, jobs
}

// decodedEvent is the event as eventpattern.DecodeEvent would read its JSON: only the
// detail needs decoding, the envelope's fields are at hand. Without withDetail the
// detail is left out: no pattern reads it (the template's match source and detail-type;
// the bus took only a JSON object), and decoding it whole for nothing was a fifth of
// serve's CPU.
func decodedEvent(cw events.CloudWatchEvent, withDetail bool) (map[string]any, error) {
	var detail any
	if withDetail {
		var err error
		if detail, err = eventpattern.DecodeEvent(cw.Detail); err != nil {
			return nil, err
		}
	}
	resources := make([]any, len(cw.Resources))
	for i, r := range cw.Resources {
		resources[i] = r
	}
	return map[string]any{
		"version":     cw.Version,
		"id":          cw.ID,
		"detail-type": cw.DetailType,
		"source":      cw.Source,
		"account":     cw.AccountID,
		"time":        cw.Time.UTC().Format(time.RFC3339),
		"region":      cw.Region,
		"resources":   resources,
		"detail":      detail,
	}, nil
}

// readsDetail reports whether pattern may read the event's detail: it names "detail", or
// has a top-level "$or" (whose branches may).
func readsDetail(pattern *eventpattern.Pattern) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(pattern.String()), &top) != nil {
		return true
	}
	_, detail := top["detail"]
	_, or := top["$or"]
	return detail || or
}

func (p *Pipeline) targetLoop(ctx context.Context) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		i := p.nextJob()
		for i < 0 && !p.stopped && !(len(p.jobs) == 0 && (p.closed || ctx.Err() != nil)) {
			p.cond.Wait()
			i = p.nextJob()
		}
		if i < 0 || p.stopped {
			p.mu.Unlock()
			return
		}
		j := p.jobs[i]
		p.jobs = append(p.jobs[:i], p.jobs[i+1:]...)
		p.running++
		if j.entity != "" {
			if p.entityBusy == nil {
				p.entityBusy = map[string]bool{}
			}
			p.entityBusy[j.entity] = true
		}
		p.mu.Unlock()

		outcome, err := p.deliver(ctx, &j)
		if j.entity != "" {
			p.mu.Lock()
			delete(p.entityBusy, j.entity)
			p.cond.Broadcast() // a job waiting for this entity may go
			p.mu.Unlock()
		}
		if err != nil && ctx.Err() != nil && p.isStopped() {
			// Cut short by Stop: not the target's failure; the job stays pending.
			p.requeue(j)
			continue
		}
		retry := err != nil && j.attempt <= j.route.MaxRetries && ctx.Err() == nil
		p.record(&j, observe.Record{Kind: observe.KindOutcome, Outcome: &outcome})
		if retry {
			// Retry later, as Lambda does for a failed asynchronous invocation; the job
			// counts as running until it is queued again, so Drain waits for it.
			delay := p.retryIn(j.attempt)
			j.attempt++
			p.record(&j, observe.Record{Kind: observe.KindRetried, Retried: &observe.Retried{
				Function: j.route.Function, Attempt: j.attempt, Delay: delay, Error: err.Error()}})
			time.AfterFunc(delay, func() { p.requeue(j) })
			continue
		}
		if j.key != 0 {
			p.storeDone(j, err)
		}
		if err != nil {
			p.mu.Lock()
			p.dead = append(p.dead, DeadAction{Function: j.route.Function, Event: j.event, Err: err})
			p.mu.Unlock()
			p.record(&j, observe.Record{Kind: observe.KindDeadLetter, DeadLetter: &observe.DeadLetter{
				Queue: observe.QueueEvents, Function: j.route.Function, DetailType: j.event.DetailType, Error: err.Error()}})
		}
		p.mu.Lock()
		p.running--
		p.cond.Broadcast()
		p.room.Broadcast()
		p.mu.Unlock()
	}
}

// requeue puts a running job back among the pending ones.
func (p *Pipeline) requeue(j job) {
	p.mu.Lock()
	p.running--
	p.jobs = append(p.jobs, j)
	p.cond.Broadcast()
	p.mu.Unlock()
}

// nextJob is the index of the oldest job whose entity no target is busy with, or -1.
// Needs p.mu.
func (p *Pipeline) nextJob() int {
	for i, j := range p.jobs {
		if j.entity == "" || !p.entityBusy[j.entity] {
			return i
		}
	}
	return -1
}

// entityKey is what a target's deliveries are serialized on: the function and the
// event's entity (detail.entityId); empty when the event names none.
func entityKey(function string, raw json.RawMessage, detail map[string]any) string {
	id, _ := detail["entityId"].(string)
	if detail == nil { // not decoded for routing: read the one field
		var d struct {
			EntityID string `json:"entityId"`
		}
		json.Unmarshal(raw, &d)
		id = d.EntityID
	}
	if id == "" {
		return ""
	}
	return function + "\x00" + id
}

// deliver runs one target on one event, as a Lambda invocation would: with a deadline,
// and a panic is an error rather than the end of the process. It returns the attempt's
// outcome for the record (Final is set by the caller, which knows whether a retry
// follows) and the target's error.
func (p *Pipeline) deliver(ctx context.Context, j *job) (outcome observe.ActionOutcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rep := &reported{}
	ctx = context.WithValue(ctx, outcomeKey{}, rep)
	p.record(j, observe.Record{Kind: observe.KindActionStart, Action: &observe.Action{Function: j.route.Function, Rule: j.route.Rule, Attempt: j.attempt, DetailType: j.event.DetailType}})
	ctx = context.WithValue(ctx, deliveryKey{}, j.deliveryID)
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		outcome = observe.ActionOutcome{Function: j.route.Function, DetailType: j.event.DetailType, Attempt: j.attempt, Outcome: observe.Done, Duration: time.Since(start)}
		switch {
		case err != nil:
			outcome.Outcome, outcome.Error = observe.Failed, err.Error()
			outcome.Final = j.attempt > j.route.MaxRetries
		case rep.outcome != "":
			outcome.Outcome, outcome.Reason, outcome.Final = rep.outcome, rep.reason, true
		default:
			outcome.Final = true
		}
	}()
	return outcome, j.route.Target(ctx, j.event)
}

// workerError tells the observer of the worker's failure.
func (p *Pipeline) workerError(err error) {
	if p.observer.WorkerError != nil {
		p.observer.WorkerError(err)
	}
}

// Idle reports whether nothing is queued, in flight, waiting for a target or running.
func (p *Pipeline) Idle() bool {
	p.mu.Lock()
	busy := len(p.jobs) > 0 || p.running > 0 || len(p.staged) > 0
	p.mu.Unlock()
	return !busy && p.Queue.Len() == 0 && p.Queue.InFlight() == 0
}

// Drain waits until the pipeline is idle (everything accepted is on the bus or
// dead-lettered, and every matched event delivered or dead-lettered) or ctx ends.
func (p *Pipeline) Drain(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	idleTicks := 0
	for {
		if p.Idle() {
			idleTicks++
			if idleTicks >= 3 { // idle across ticks: no hand-over was in progress
				return nil
			}
		} else {
			idleTicks = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %w (queued %d, in flight %d)", ctx.Err(), p.Queue.Len(), p.Queue.InFlight())
		case <-tick.C:
		}
	}
}

// Close stops the worker and the targets once their current work is done. Call Drain
// first to finish what was accepted.
func (p *Pipeline) Close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.room.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

// PendingAction is a matched event no target has finished with.
type PendingAction struct {
	Function string
	Rule     string
	Event    events.CloudWatchEvent
}

// Stop ends the pipeline without finishing its work, for when a drain ran out of time.
// It calls cancel (which must cancel the context given to Start): the targets take no
// new job, and a delivery cut short stays pending instead of failing. It waits for the
// worker and the targets, then for retries already scheduled to come back, and returns
// the events still waiting for their targets; what the queue still holds is in
// Queue.Pending.
func (p *Pipeline) Stop(cancel context.CancelFunc) []PendingAction {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	cancel()
	p.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.running > 0 { // retries scheduled by time.AfterFunc (at most retryIn away)
		p.cond.Wait()
	}
	out := make([]PendingAction, len(p.jobs))
	for i, j := range p.jobs {
		out[i] = PendingAction{Function: j.route.Function, Rule: j.route.Rule, Event: j.event}
	}
	p.jobs = nil
	return out
}

func (p *Pipeline) isStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

// DeadActions returns the events whose targets failed every attempt.
func (p *Pipeline) DeadActions() []DeadAction {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]DeadAction(nil), p.dead...)
}

// WebhookHandler is the HTTP endpoint, POST /webhooks/{token}: each request goes
// through the ingest handler, as the Lambda's requests do.
func (p *Pipeline) WebhookHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/{token}", p.serveWebhook)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		refuseUnread(w, r)
		writeJSON(w, http.StatusNotFound, `{"error":"not found: POST webhooks to /webhooks/<token>"}`)
		p.obs.Publish(observe.Record{Kind: observe.KindWebhook, Webhook: &observe.Webhook{Status: http.StatusNotFound, Reason: "not found: " + r.Method + " " + r.URL.Path}})
	})
	return mux
}

// maxReadBytes bounds what is read of a request body: enough for ingest to tell an
// oversized body (413) from a good one, no more.
const maxReadBytes = peerdom.MaxBodyBytes + 1

// refuseUnread answers a request whose body is not read whole, as API Gateway refuses
// an unknown route or a wrong token: the answer goes out at once and the connection is
// closed after it. Go's server would otherwise read up to 256 KiB of the unread body
// after the handler returns, so that a slow sender would hold a connection slot for as
// long as it pleases (or the read timeout).
func refuseUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	http.NewResponseController(w).SetReadDeadline(time.Now())
}

func (p *Pipeline) serveWebhook(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	req := ingest.Request{Method: r.Method, Token: r.PathValue("token"), SourceIP: host, UserAgent: r.UserAgent()}
	if p.obs != nil {
		req.DeliveryID = peerdom.NewDeliveryID() // ingest's own default, known here for the record
	}
	var size int64
	whole := false
	// Read only once the method and the token are accepted.
	req.ReadBody = func() ([]byte, int64, error) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxReadBytes))
		if err != nil {
			return body, 0, fmt.Errorf("could not read the request body: %w", err)
		}
		whole = len(body) < maxReadBytes
		size = int64(len(body))
		return body, max(r.ContentLength, 0), nil
	}
	// API Gateway gives an integration 30 seconds.
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	resp := p.Ingest.Handle(ctx, req)
	if !whole {
		refuseUnread(w, r)
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	io.WriteString(w, resp.Body)
	if p.obs != nil {
		p.noteWebhook(req.DeliveryID, resp, size)
	}
}

// noteWebhook records the endpoint's answer to a webhook.
func (p *Pipeline) noteWebhook(id string, resp ingest.Response, size int64) {
	wh := &observe.Webhook{Status: resp.Status, Accepted: resp.Status == http.StatusOK, Bytes: size}
	if !wh.Accepted {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal([]byte(resp.Body), &e)
		wh.Reason = e.Error
	}
	p.obs.Publish(observe.Record{Kind: observe.KindWebhook, DeliveryID: id, Webhook: wh})
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}
