package stackview

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/peerbridge/peerbridge/internal/operate"
)

// The tail's states (TailState.State).
const (
	TailIdle     = "idle"     // Tail not called yet
	TailStarting = "starting" // removing expired taps, creating the rule and queue
	TailRunning  = "tailing"  // the rule copies the bus's events to the queue
	TailRetrying = "retrying" // a receive failed; trying again (Err says why)
	TailStopped  = "stopped"  // ended; its rule and queue removed (Err says if not)
	TailFailed   = "failed"   // could not start, or gave up; Err says why
)

// TailState is what the tail is doing, for the console to show.
type TailState struct {
	State   string    `json:"state"`
	Bus     string    `json:"bus"`
	Rule    string    `json:"rule,omitempty"`  // the temporary rule's and queue's name
	Pattern string    `json:"pattern"`         // the rule's event pattern
	Since   time.Time `json:"since,omitzero"`  // when the rule was in place
	Err     string    `json:"error,omitempty"` // the last failure
	// RemovedExpired names the rules and queues of earlier tails, past their expiry
	// (killed before they could remove them), that this tail removed when it started.
	RemovedExpired []string `json:"removedExpired,omitempty"`
}

// ErrTailRunning is returned by a second Tail while one runs.
var ErrTailRunning = errors.New("the stack is tailed already")

// maxReceiveFailures is how many receives in a row may fail before the tail gives up.
const maxReceiveFailures = 6

// Tail follows the stack's bus until ctx ends: it removes expired rules and queues of
// earlier tails, creates a rule and a queue (named peerbridge-tail-…, tagged with the
// stack and an expiry) taking the bus's events that match Options.Pattern, and adds
// each event to the View's stream (Stream) as observe records: the event published, and
// each rule that matched it with its targets. When ctx ends (the console stops: Ctrl-C,
// SIGTERM, a closed terminal) it removes the rule and the queue before it returns, nil
// when that worked. A receive that fails is retried with a growing wait; after
// maxReceiveFailures in a row the tail gives up, removes them and returns the error.
// One Tail runs at a time per View.
func (v *View) Tail(ctx context.Context) (err error) {
	v.tailMu.Lock()
	if v.tailing {
		v.tailMu.Unlock()
		return ErrTailRunning
	}
	v.tailing = true
	v.tailMu.Unlock()
	defer func() {
		v.tailMu.Lock()
		v.tailing = false
		v.tailMu.Unlock()
	}()

	bus, _ := v.stack.Output(operate.OutputEventBusName) // New checked it
	v.setTail(func(s *TailState) { *s = TailState{State: TailStarting, Bus: bus, Pattern: v.opts.Pattern} })
	removed, err := operate.RemoveExpiredTaps(ctx, v.sqs, v.eb, bus, v.stack.Name, v.opts.Now())
	v.setTail(func(s *TailState) {
		s.RemovedExpired = removed
		if err != nil && ctx.Err() == nil { // not fatal: this tail can run beside them
			s.Err = "removing expired tails: " + err.Error()
		}
	})
	if err := ctx.Err(); err != nil {
		v.setTail(func(s *TailState) { s.State = TailStopped })
		return nil
	}
	// Created whole even when ctx ends meanwhile: a call cancelled in flight may have
	// created the queue without the tap learning its URL, leaving it behind.
	openCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	tap, err := operate.OpenTap(openCtx, v.sqs, v.eb, bus, v.stack.Name, v.opts.Pattern, v.opts.Now())
	cancel()
	if err != nil {
		v.setTail(func(s *TailState) { s.State, s.Err = TailFailed, err.Error() })
		return err
	}
	defer func() {
		closeErr := tap.Close(ctx) // runs on a context of its own when ctx is cancelled
		err = errors.Join(err, closeErr)
		v.setTail(func(s *TailState) {
			s.State = TailStopped
			if err != nil {
				s.State, s.Err = TailFailed, err.Error()
			}
		})
	}()
	v.setTail(func(s *TailState) { s.State, s.Rule, s.Since = TailRunning, tap.Rule, v.opts.Now() })
	v.router.refresh(ctx, v, v.opts.Now()) // the rules to show events routed to, read up front
	if err := v.router.lastErr(); err != nil && ctx.Err() == nil {
		v.setTail(func(s *TailState) { s.Err = "listing the bus's rules: " + err.Error() })
	}
	return v.follow(ctx, tap)
}

// follow receives until ctx ends, retrying failed receives with a growing wait (from
// Options.retryBackoff, doubled up to 30 s); after maxReceiveFailures in a row it gives up.
func (v *View) follow(ctx context.Context, tap *operate.Tap) error {
	handle := func(body string) { v.publish(ctx, body) }
	onDeleteErr := func(err error) { v.setTail(func(s *TailState) { s.Err = err.Error() }) }
	retry := func(err error, failures int) bool {
		if failures >= maxReceiveFailures {
			return false
		}
		v.setTail(func(s *TailState) { s.State, s.Err = TailRetrying, err.Error() })
		wait := min(v.opts.retryBackoff<<(failures-1), 30*time.Second)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		v.setTail(func(s *TailState) { s.State = TailRunning })
		return true
	}
	if err := tap.Follow(ctx, handle, onDeleteErr, retry); err != nil && ctx.Err() == nil {
		return fmt.Errorf("gave up after %d failed receives: %w", maxReceiveFailures, err)
	}
	return nil
}

func (v *View) setTail(f func(*TailState)) {
	v.tailMu.Lock()
	defer v.tailMu.Unlock()
	f(&v.tail)
	close(v.stateNews)
	v.stateNews = make(chan struct{})
}

// TailStatus is the tail's state, and a channel closed when it next changes.
func (v *View) TailStatus() (TailState, <-chan struct{}) {
	v.tailMu.Lock()
	defer v.tailMu.Unlock()
	s := v.tail
	s.RemovedExpired = append([]string(nil), s.RemovedExpired...)
	return s, v.stateNews
}

// publish decodes one message of the tap's queue and publishes its records.
func (v *View) publish(ctx context.Context, body string) {
	e := decodeEvent(body)
	var routes []route
	if e.decodeError != errNotJSON {
		v.router.refresh(ctx, v, v.opts.Now())
		routes = v.router.match([]byte(body))
		if err := v.router.lastErr(); err != nil {
			v.setTail(func(s *TailState) { s.Err = "listing the bus's rules: " + err.Error() })
		}
	}
	for _, r := range e.records(routes) {
		v.stream.Publish(r)
	}
}

// Tailing is a tail running in the background (StartTail).
type Tailing struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// StartTail runs Tail in the background until ctx ends or Stop is called. A command
// defers Stop, so that it removes the tail's rule and queue before the process exits:
//
//	tail := v.StartTail(ctx) // ctx ends on SIGINT, SIGTERM, SIGHUP
//	defer tail.Stop()
func (v *View) StartTail(ctx context.Context) *Tailing {
	ctx, cancel := context.WithCancel(ctx)
	t := &Tailing{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.err = v.Tail(ctx)
	}()
	return t
}

// Stop ends the tail and waits until its rule and queue are removed; it returns Tail's
// error (nil when they were). Calling it again returns the same.
func (t *Tailing) Stop() error {
	t.cancel()
	<-t.done
	return t.err
}

// Done is closed when the tail has ended (ctx ended, Stop, or it gave up); Stop then
// returns at once.
func (t *Tailing) Done() <-chan struct{} { return t.done }
