package console

import (
	"context"
	"encoding/json"
	"slices"
	"sort"

	"github.com/peerbridge/peerbridge/internal/observe"
)

// Operations is what a Source does besides showing what happened: the dead-letter
// queues, the sandbox Peerdom, the samples and the rules (serve's in-process API).
type Operations interface {
	DeadLetters(ctx context.Context) ([]DeadLetter, error)
	Redrive(ctx context.Context, queue, id string) (int, error)
	Purge(ctx context.Context, queue string) (int, error)
	Sandbox(ctx context.Context) (Sandbox, error)
	EditSandbox(ctx context.Context, edit SandboxEdit) error
	SampleKinds() []string
	SendSample(ctx context.Context, kind string) error
	Rules() []string
	Replay(ctx context.Context, eventID, rule string) error
}

// Observed is a Source reading the events and reconcile runs from serve's observe stream,
// and doing the rest through ops (nil: none of it is available).
func Observed(s *observe.Stream, ops Operations) Source {
	if ops == nil {
		ops = NoOperations{}
	}
	return &observed{s: s, Operations: ops}
}

type observed struct {
	s *observe.Stream
	Operations
}

// maxAssembling bounds the events a live subscription keeps assembling (the newest).
const maxAssembling = 2000

func (o *observed) Events() []Event {
	a := newAssembler(0)
	for _, r := range o.s.Records() {
		a.add(r)
	}
	return a.published()
}

func (o *observed) Event(id string) (Event, bool) {
	a := newAssembler(0)
	for _, r := range o.s.Filter(func(r *observe.Record) bool { return r.EventID == id }) {
		a.add(r)
	}
	ev := a.byID[id]
	if ev == nil || !ev.published {
		return Event{}, false
	}
	return ev.Event, true
}

// Subscribe assembles each event from the stream's records as they come, and sends a
// copy of it after each record about it. The observe stream never waits for it: a
// subscriber that falls behind loses records there (the page then shows an older state
// of the row until the next record about it).
func (o *observed) Subscribe() (<-chan Event, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sub := o.s.Subscribe(ctx)
	out := make(chan Event, 256)
	go func() {
		defer close(out)
		a := newAssembler(maxAssembling)
		for r := range sub.C {
			if r.Kind == observe.KindLost {
				select { // tell the reader it missed some (Subscribe's contract)
				case out <- Event{}:
				case <-ctx.Done():
					return
				}
				continue
			}
			if r.EventID == "" {
				continue
			}
			if a.byID[r.EventID] == nil && r.Kind != observe.KindPublished {
				// About an event published before this subscription: read what the
				// ring holds of it (this record included) once.
				for _, old := range o.s.Filter(func(x *observe.Record) bool { return x.EventID == r.EventID && x.Seq <= r.Seq }) {
					a.add(old)
				}
			} else {
				a.add(r)
			}
			ev := a.byID[r.EventID]
			if ev == nil || !ev.published {
				continue
			}
			select {
			case out <- ev.clone():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, cancel
}

func (o *observed) ReconcileRuns() ([]ReconcileRun, error) {
	var runs []ReconcileRun
	for _, r := range o.s.Filter(func(r *observe.Record) bool { return r.Kind == observe.KindReconcile }) {
		rc := r.Reconcile
		run := ReconcileRun{Started: r.Time.Add(-rc.Duration), Duration: rc.Duration, Drift: rc.Drift, Error: rc.Error}
		for _, d := range rc.Differences {
			run.Differences = append(run.Differences, Difference{EventID: d.EventID, DetailType: d.DetailType, Name: d.EntityID})
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// NoOperations answers ErrUnavailable for every operation.
type NoOperations struct{}

func (NoOperations) DeadLetters(context.Context) ([]DeadLetter, error) { return nil, ErrUnavailable }
func (NoOperations) Redrive(context.Context, string, string) (int, error) {
	return 0, ErrUnavailable
}
func (NoOperations) Purge(context.Context, string) (int, error)     { return 0, ErrUnavailable }
func (NoOperations) Sandbox(context.Context) (Sandbox, error)       { return Sandbox{}, ErrUnavailable }
func (NoOperations) EditSandbox(context.Context, SandboxEdit) error { return ErrUnavailable }
func (NoOperations) SampleKinds() []string                          { return nil }
func (NoOperations) SendSample(context.Context, string) error       { return ErrUnavailable }
func (NoOperations) Rules() []string                                { return nil }
func (NoOperations) Replay(context.Context, string, string) error   { return ErrUnavailable }

// assembler folds records into events, by bus event id.
type assembler struct {
	byID  map[string]*assembled
	order []string // ids, first seen first
	max   int      // 0: unbounded
}

type assembled struct {
	Event
	published bool
}

func newAssembler(max int) *assembler { return &assembler{byID: map[string]*assembled{}, max: max} }

func (a *assembler) get(id string) *assembled {
	ev := a.byID[id]
	if ev == nil {
		ev = &assembled{Event: Event{ID: id}}
		a.byID[id] = ev
		a.order = append(a.order, id)
		if a.max > 0 && len(a.order) > a.max {
			delete(a.byID, a.order[0])
			a.order = a.order[1:]
		}
	}
	return ev
}

func (a *assembler) published() []Event {
	var out []Event
	for _, id := range a.order {
		if ev := a.byID[id]; ev.published {
			out = append(out, ev.Event)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// action is the event's run of function, made when first heard of.
func (ev *assembled) action(function, rule string) *Action {
	for i := range ev.Actions {
		if ev.Actions[i].Function == function {
			return &ev.Actions[i]
		}
	}
	if function == "" && len(ev.Actions) > 0 {
		return &ev.Actions[len(ev.Actions)-1]
	}
	ev.Actions = append(ev.Actions, Action{Function: function, Rule: rule, Outcome: OutcomeRunning})
	return &ev.Actions[len(ev.Actions)-1]
}

func (a *assembler) add(r observe.Record) {
	if r.EventID == "" {
		return
	}
	ev := a.get(r.EventID)
	switch {
	case r.Published != nil:
		p := r.Published
		ev.published = true
		ev.Time, ev.DetailType = r.Time, p.DetailType
		var bus struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(p.Event, &bus) == nil && len(bus.Detail) > 0 {
			ev.Detail = bus.Detail
		} else {
			ev.Detail = p.Event
		}
	case r.Routed != nil:
		rt := r.Routed
		i := slices.IndexFunc(ev.Routes, func(x Route) bool { return x.Rule == rt.Rule })
		if i < 0 {
			ev.Routes = append(ev.Routes, Route{Rule: rt.Rule, Pattern: indent(rt.Pattern), Matched: patternFields(rt.Pattern)})
			i = len(ev.Routes) - 1
		}
		target := rt.Function
		if !rt.Delivered {
			target += " (not run)"
		}
		if !slices.Contains(ev.Routes[i].Targets, target) {
			ev.Routes[i].Targets = append(ev.Routes[i].Targets, target)
		}
	case r.Action != nil:
		act := ev.action(r.Action.Function, r.Action.Rule)
		act.Outcome, act.Attempts = OutcomeRunning, r.Action.Attempt
		if act.Rule == "" {
			act.Rule = r.Action.Rule
		}
	case r.APICall != nil:
		c := r.APICall
		act := ev.action(c.Function, "")
		act.Calls = append(act.Calls, APICall{Attempt: max(act.Attempts, 1), Method: c.Method, Path: c.Path, Status: c.Status,
			Duration: c.Duration, Request: c.Request, Response: c.Response, Error: c.Error})
	case r.Outcome != nil:
		oc := r.Outcome
		act := ev.action(oc.Function, "")
		act.Attempts = max(act.Attempts, oc.Attempt)
		act.Outcome, act.Reason = string(oc.Outcome), oc.Reason
		if oc.Error != "" {
			act.Reason = oc.Error
		}
	case r.DeadLetter != nil && r.DeadLetter.Queue == observe.QueueEvents:
		act := ev.action(r.DeadLetter.Function, "")
		act.Outcome, act.Reason = OutcomeDeadLettered, r.DeadLetter.Error
	}
}

func (ev *assembled) clone() Event {
	e := ev.Event
	e.Routes = slices.Clone(e.Routes)
	for i := range e.Routes {
		e.Routes[i].Targets = slices.Clone(e.Routes[i].Targets)
	}
	e.Actions = slices.Clone(e.Actions)
	for i := range e.Actions {
		e.Actions[i].Calls = slices.Clone(e.Actions[i].Calls)
	}
	return e
}

func indent(pattern string) string {
	var v any
	if json.Unmarshal([]byte(pattern), &v) != nil {
		return pattern
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// patternFields are the event fields an event pattern tests, as paths ("detail.entity").
func patternFields(pattern string) []string {
	var m map[string]any
	if json.Unmarshal([]byte(pattern), &m) != nil {
		return nil
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if sub, ok := m[k].(map[string]any); ok && k[0] != '$' {
				walk(prefix+k+".", sub)
				continue
			}
			out = append(out, prefix+k)
		}
	}
	walk("", m)
	return out
}
