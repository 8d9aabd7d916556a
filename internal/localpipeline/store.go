package localpipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Store keeps the action stage on disk, so that a pipeline killed and started again runs
// every action that was pending, and publishes no webhook twice. It is written at two
// moments:
//
//   - when the worker's batch is on the bus: in one synced write, the batch's messages
//     leave the queue and their matched events become pending actions (and the events
//     file's new length is recorded); a crash before that write finds the messages
//     still queued and publishes them again, a crash after it finds the actions;
//   - when an action ends (done or dead-lettered), it leaves the store.
//
// An event published by something else than the worker (an action, reconciliation)
// is committed before its PutEvents returns. internal/localpipeline/boltstore is the
// bbolt implementation.
type Store interface {
	// Commit records c in one synced write, and gives each action in c.Actions its Key.
	Commit(c *Commit) error
	// Done removes the pending action key; with dead set, it keeps it among the dead
	// actions instead.
	Done(key uint64, dead *StoredAction) error
}

// Commit is one write of the action stage.
type Commit struct {
	Actions   []StoredAction // new pending actions; Commit sets their Key
	Published []string       // ids of queue messages whose events are on the bus
	EventsOut int64          // the events file's length after this commit; -1: no file
}

// StoredAction is a pending (or dead) action as stored.
type StoredAction struct {
	Key      uint64                 `json:"-"`
	Function string                 `json:"function"`
	Rule     string                 `json:"rule"`
	Event    events.CloudWatchEvent `json:"event"`
	Err      string                 `json:"error,omitempty"` // a dead action's last error
}

// staged is an event on the bus whose routing is not yet committed.
type staged struct {
	event    events.CloudWatchEvent
	detail   map[string]any
	routedTo []string
	matched  []*Route
	jobs     []job
	message  string // the queue message it came from, in the worker's batch; "" otherwise
	raw      []byte // its JSON line for EventsOut
}

// restore queues the pending actions a Store held at start.
func (p *Pipeline) restore(pending []StoredAction) {
	for _, a := range pending {
		r := p.routeFor(a.Function, a.Rule)
		if r == nil || r.Target == nil {
			// No rule of that function now (a changed template): it cannot run here.
			err := fmt.Errorf("pending at start, but function %s has no rule %s with a target now", a.Function, a.Rule)
			p.dead = append(p.dead, DeadAction{Function: a.Function, Event: a.Event, Err: err})
			if p.store != nil {
				dead := a
				dead.Err = err.Error()
				p.store.Done(a.Key, &dead) // kept among the dead, not found pending again
			}
			continue
		}
		p.jobs = append(p.jobs, job{route: r, event: a.Event, attempt: 1, entity: entityKey(r.Function, a.Event.Detail, nil), key: a.Key})
	}
}

func (p *Pipeline) routeFor(function, rule string) *Route {
	for i := range p.Routes {
		if p.Routes[i].Function == function && p.Routes[i].Rule == rule {
			return &p.Routes[i]
		}
	}
	return nil
}

// invokeWorkerStored runs the worker on a batch, then commits what it published: the
// messages whose events are on the bus leave the queue in the same write as their
// actions enter the store.
func (p *Pipeline) invokeWorkerStored(ctx context.Context, batch []queue.Message) ([]string, error) {
	ids := make(map[string]string, len(batch))
	for _, m := range batch {
		if d, err := peerdom.DecodeDeliveryString(m.Body); err == nil {
			ids[d.ID] = m.ID
		}
	}
	p.mu.Lock()
	p.batch = ids
	p.published = map[string]bool{}
	p.mu.Unlock()
	failed, err := p.Worker.Handle(ctx, batch)
	p.mu.Lock()
	p.batch = nil
	published := p.published
	p.published = nil
	gen := p.stageGen
	p.mu.Unlock()
	if cerr := p.commit(gen); cerr != nil {
		// Nothing of the batch is recorded: it stays queued, and is published again.
		return nil, fmt.Errorf("recording the batch's events: %w", cerr)
	}
	if err == nil && len(failed) == 0 {
		return nil, nil
	}
	// The worker failed some (or all) of the batch, maybe after some of its events were
	// on the bus: those left the queue in the commit; only the others are retried, so
	// that none reaches the bus twice.
	if err != nil {
		p.workerError(err)
	}
	var retry []string
	for _, m := range batch {
		if !published[m.ID] && (err != nil || slices.Contains(failed, m.ID)) {
			retry = append(retry, m.ID)
		}
	}
	return retry, nil
}

// routeStored stages an event; one that is not of the worker's current batch is
// committed before it returns (before its publisher's PutEvents returns).
func (p *Pipeline) routeStored(cw events.CloudWatchEvent) {
	detail, routedTo, matched, jobs := p.match(cw)
	st := staged{event: cw, detail: detail, routedTo: routedTo, matched: matched, jobs: jobs}
	if p.eventsOut != nil || p.obs != nil {
		if raw, err := json.Marshal(cw); err == nil {
			st.raw = append(raw, '\n')
		}
	}
	var d struct {
		ID string `json:"id"`
	}
	p.mu.Lock()
	if p.batch != nil && json.Unmarshal(cw.Detail, &d) == nil {
		st.message = p.batch[d.ID]
		if st.message != "" {
			p.published[st.message] = true
		}
	}
	p.staged = append(p.staged, st)
	p.stageGen++
	gen, inBatch := p.stageGen, st.message != ""
	p.mu.Unlock()
	if inBatch {
		return // committed by invokeWorkerStored once the batch is published
	}
	if err := p.commit(gen); err != nil {
		p.workerError(fmt.Errorf("recording event %s: %w (its actions are not run)", cw.ID, err))
	}
}

// commit writes everything staged up to generation gen (and whatever was staged
// since), unless a concurrent commit did: one write for all that waited.
func (p *Pipeline) commit(gen uint64) error {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	p.mu.Lock()
	if p.committedGen >= gen {
		p.mu.Unlock()
		return nil
	}
	batch := p.staged
	p.staged = nil
	upto := p.stageGen
	p.mu.Unlock()

	c := &Commit{EventsOut: -1}
	for _, st := range batch {
		for _, j := range st.jobs {
			c.Actions = append(c.Actions, StoredAction{Function: j.route.Function, Rule: j.route.Rule, Event: j.event})
		}
		if st.message != "" {
			c.Published = append(c.Published, st.message)
		}
	}
	var werr error
	if p.eventsOut != nil {
		// Written before the commit records the new length: a crash in between leaves
		// lines past the recorded length, which the next start cuts off.
		for _, st := range batch {
			if werr == nil && st.raw != nil && p.eventsOut != nil {
				var n int
				n, werr = p.eventsOut.Write(st.raw)
				p.eventsOutAt += int64(n)
			}
		}
		c.EventsOut = p.eventsOutAt
	}
	err := werr
	if err == nil {
		err = p.store.Commit(c)
	}
	if err != nil {
		p.mu.Lock()
		p.committedGen = upto
		p.mu.Unlock()
		return err
	}
	// Each event is recorded before its actions may run, so that an action's outcome
	// never comes before the event it belongs to (a display would keep the event's block
	// open forever).
	for _, st := range batch {
		var raw []byte
		if st.raw != nil {
			raw = st.raw[:len(st.raw)-1]
		}
		p.notePublished(st.event, st.detail, st.routedTo, st.matched, raw, st.jobs)
	}
	p.mu.Lock()
	p.committedGen = upto
	k := 0
	for _, st := range batch {
		for _, j := range st.jobs {
			j.key = c.Actions[k].Key
			k++
			p.jobs = append(p.jobs, j)
			p.cond.Signal()
		}
	}
	p.mu.Unlock()
	return nil
}

// storeDone removes an ended job from the store; a failure is told as a worker error
// (the action may run again after a restart).
func (p *Pipeline) storeDone(j job, deliverErr error) {
	var dead *StoredAction
	if deliverErr != nil {
		dead = &StoredAction{Function: j.route.Function, Rule: j.route.Rule, Event: j.event, Err: deliverErr.Error()}
	}
	if err := p.store.Done(j.key, dead); err != nil {
		p.workerError(fmt.Errorf("recording the end of %s's action on event %s: %w", j.route.Function, j.event.ID, err))
	}
}

// Replay restores work a stopped pipeline left (serve's spill file), before Start:
// envelopes are queued again as they were (the same delivery ids), and actions become
// pending for their function and rule only; their events are not put on the bus again.
// With a Store, both are stored before Replay returns.
func (p *Pipeline) Replay(ctx context.Context, envelopes []string, actions []StoredAction) error {
	jobs := make([]job, 0, len(actions))
	for _, a := range actions {
		r := p.routeFor(a.Function, a.Rule)
		if r == nil || r.Target == nil {
			return fmt.Errorf("event %s is pending for %s (rule %s), which has no rule with a target here", a.Event.ID, a.Function, a.Rule)
		}
		jobs = append(jobs, job{route: r, event: a.Event, attempt: 1, entity: entityKey(r.Function, a.Event.Detail, nil)})
	}
	for i, env := range envelopes {
		if err := p.Queue.Send(ctx, env); err != nil {
			return fmt.Errorf("queueing message %d of %d: %w", i+1, len(envelopes), err)
		}
	}
	if p.store != nil && len(actions) > 0 {
		c := &Commit{Actions: append([]StoredAction(nil), actions...), EventsOut: -1}
		if err := p.store.Commit(c); err != nil {
			return fmt.Errorf("storing the pending actions: %w", err)
		}
		for i := range jobs {
			jobs[i].key = c.Actions[i].Key
		}
	}
	p.mu.Lock()
	p.jobs = append(p.jobs, jobs...)
	p.mu.Unlock()
	return nil
}
