package localpipeline

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/peerbridge/peerbridge/internal/observe"
)

// ErrStopped is returned by RedriveActions once the pipeline is stopping: its targets
// take no more work.
var ErrStopped = errors.New("the pipeline is stopping: its targets take no more events")

// RedriveActions hands the dead-lettered action events that match back to their
// functions, as new deliveries (first attempt, the function's retries again), and
// returns how many it moved. Each is taken off the dead list and queued for its target
// in one critical section, so none is lost or delivered twice by two redrives at once.
// A dead event whose function has no route with a target any more stays dead.
func (p *Pipeline) RedriveActions(match func(DeadAction) bool) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.closed {
		return 0, ErrStopped
	}
	kept := p.dead[:0]
	moved := 0
	var missing []string
	for _, d := range p.dead {
		r := p.routeOf(d.Function)
		if !match(d) {
			kept = append(kept, d)
			continue
		}
		if r == nil {
			missing = append(missing, d.Function)
			kept = append(kept, d)
			continue
		}
		p.jobs = append(p.jobs, job{route: r, event: d.Event, attempt: 1, entity: entityKey(r.Function, d.Event.Detail, nil)})
		moved++
	}
	clear(p.dead[len(kept):])
	p.dead = kept
	if moved > 0 {
		p.cond.Broadcast()
		p.obs.Publish(observe.Record{Kind: observe.KindRedriven, Redriven: &observe.Redriven{Queue: observe.QueueEvents, Count: moved}})
	}
	if len(missing) > 0 {
		return moved, fmt.Errorf("no target for %v: their events stay dead-lettered", missing)
	}
	return moved, nil
}

// routeOf is a route of function that has a target (its rules share it), or nil.
// Needs p.mu.
func (p *Pipeline) routeOf(function string) *Route {
	for i := range p.Routes {
		if p.Routes[i].Function == function && p.Routes[i].Target != nil {
			return &p.Routes[i]
		}
	}
	return nil
}

// RedriveQueue moves the queue's dead letters named by message id (nil: all) back to
// the queue (memqueue.Queue.Redrive) and returns how many it moved. The queue's lock
// is taken under p.mu, never the other way round.
func (p *Pipeline) RedriveQueue(ids []string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.stopped {
		return 0, ErrStopped
	}
	moved := p.Queue.Redrive(ids)
	if moved > 0 {
		p.obs.Publish(observe.Record{Kind: observe.KindRedriven, Redriven: &observe.Redriven{Queue: observe.QueueWebhooks, Count: moved, IDs: ids}})
	}
	// A letter moved back is new to the observer when it dies again.
	if ids == nil {
		clear(p.seenQueueDead)
	}
	for _, id := range ids {
		delete(p.seenQueueDead, id)
	}
	return moved, nil
}

// PurgeQueue drops the queue's dead letters named by message id (nil: all) and returns
// how many it dropped.
func (p *Pipeline) PurgeQueue(ids []string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.Queue.Purge(ids)
	for _, id := range ids {
		delete(p.seenQueueDead, id)
	}
	if ids == nil {
		clear(p.seenQueueDead)
	}
	if n > 0 {
		p.obs.Publish(observe.Record{Kind: observe.KindPurged, Purged: &observe.Purged{Queue: observe.QueueWebhooks, Count: n}})
	}
	return n
}

// PurgeActions drops the dead-lettered action events that match and returns how many it
// dropped.
func (p *Pipeline) PurgeActions(match func(DeadAction) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.dead[:0]
	for _, d := range p.dead {
		if !match(d) {
			kept = append(kept, d)
		}
	}
	n := len(p.dead) - len(kept)
	clear(p.dead[len(kept):])
	p.dead = kept
	if n > 0 {
		p.obs.Publish(observe.Record{Kind: observe.KindPurged, Purged: &observe.Purged{Queue: observe.QueueEvents, Count: n}})
	}
	return n
}

// Deliver hands ev to the target of function's rule as a new delivery (first attempt,
// its retries again), whether or not the rule matches it: a replay of one event to one
// rule.
func (p *Pipeline) Deliver(function, rule string, ev events.CloudWatchEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.closed {
		return ErrStopped
	}
	r := p.routeFor(function, rule)
	if r == nil || r.Target == nil {
		return fmt.Errorf("no rule %s of %s with a target", rule, function)
	}
	p.jobs = append(p.jobs, job{route: r, event: ev, attempt: 1, entity: entityKey(r.Function, ev.Detail, nil)})
	p.cond.Broadcast()
	return nil
}
