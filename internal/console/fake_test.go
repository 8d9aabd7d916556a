package console

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// fake is a Source in memory: a pipeline that publishes an event for each webhook, edit
// or redrive, and counts what the console asked of it.
type fake struct {
	mu       sync.Mutex
	events   []Event
	subs     map[int]chan Event
	nextSub  int
	dlq      []DeadLetter
	runs     []ReconcileRun
	sb       Sandbox
	seq      int
	secret   string         // put in bodies and errors: the console must never show it
	redrives map[string]int // by dead letter id
	purges   int
	edits    []SandboxEdit
	replays  []string // "event rule"
	// delivered counts the events published per delivery id.
	delivered map[string]int
}

func newFake(secret string) *fake {
	return &fake{
		subs: map[int]chan Event{}, secret: secret, redrives: map[string]int{}, delivered: map[string]int{},
		sb: Sandbox{
			Roles:   []Entity{{ID: "role-1", Name: "Facilitator"}, {ID: "role-2", Name: "Scribe"}},
			Circles: []Entity{{ID: "circle-1", Name: "Research"}},
			Peers:   []Entity{{ID: "peer-1", Name: "Ada Lovelace", Fields: map[string]string{"email": "ada@example.com"}}},
		},
	}
}

// publish adds ev (or replaces the event of its id) and tells the subscribers, dropping
// an update a subscriber has no room for, as the pipeline's observer does.
func (f *fake) publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.IndexFunc(f.events, func(e Event) bool { return e.ID == ev.ID }); i >= 0 {
		f.events[i] = ev
	} else {
		f.events = append(f.events, ev)
		var d struct {
			ID string `json:"id"`
		}
		json.Unmarshal(ev.Detail, &d)
		f.delivered[d.ID]++
	}
	for _, ch := range f.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// newEvent makes an event about entity name, of detail type kind, with one action.
func (f *fake) newEvent(kind, entity, name, author, actionOutcome string) Event {
	f.mu.Lock()
	f.seq++
	n := f.seq
	f.mu.Unlock()
	det, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("delivery-%04d-%s", n, strings.ReplaceAll(strings.ToLower(kind), " ", "")), "entity": entity,
		"action": strings.ToLower(strings.Fields(kind)[len(strings.Fields(kind))-1]),
		"name":   name, "author": map[string]string{"name": author, "email": strings.ToLower(author) + "@example.com"},
		"changes":       []map[string]any{{"field": "Name", "old": "Old " + name, "new": name}, {"field": "Skills", "added": []string{"Moderation"}, "removed": []string{"Note taking"}}},
		"changedFields": []string{"Name", "Skills"},
		"text":          "**[Role](https://app.peerdom.org/acme/map/m/role/r)** was updated\n\n**Author:** " + author + "\n\n**Name:** Old " + name + " → " + name,
	})
	ev := Event{
		ID: fmt.Sprintf("ev-%04d", n), Time: time.Date(2026, 12, 7, 23, 0, n%60, 0, time.UTC), DetailType: kind, Detail: det,
	}
	if actionOutcome != "" {
		ev.Routes = []Route{{Rule: "RoleDefaultsRule", Pattern: `{"source":["peerdom"],"detail-type":["` + kind + `"]}`, Matched: []string{"source", "detail-type"}, Targets: []string{"RoleDefaultsFunction"}}}
		ev.Actions = []Action{{Function: "RoleDefaultsFunction", Rule: "RoleDefaultsRule", Outcome: actionOutcome, Attempts: 1,
			Calls: []APICall{
				{Attempt: 1, Method: "GET", Path: "/v1/roles/role-1", Status: 200, Duration: 12 * time.Millisecond, Response: `{"id":"role-1","name":"` + name + `"}`},
				{Attempt: 1, Method: "PUT", Path: "/v1/roles/role-1", Status: 200, Duration: 20 * time.Millisecond, Request: `{"purpose":"set by peerbridge","key":"` + f.secret + `"}`, Response: `{"ok":true}`},
			}}}
		if actionOutcome == OutcomeFailed || actionOutcome == OutcomeDeadLettered {
			ev.Actions[0].Reason = "PUT /v1/roles/role-1: 500 (Bearer " + f.secret + ")"
		}
	}
	return ev
}

func (f *fake) Events() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func (f *fake) Event(id string) (Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.events, func(e Event) bool { return e.ID == id })
	if i < 0 {
		return Event{}, false
	}
	return f.events[i], true
}

func (f *fake) Subscribe() (<-chan Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan Event, 256)
	id := f.nextSub
	f.nextSub++
	f.subs[id] = ch
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, id)
	}
}

func (f *fake) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fake) DeadLetters(context.Context) ([]DeadLetter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dlq), nil
}

// Redrive publishes each dead letter's event again (a webhook dead letter becomes its
// event) and removes it from the queue.
func (f *fake) Redrive(_ context.Context, queue, id string) (int, error) {
	f.mu.Lock()
	var out []DeadLetter
	var keep []DeadLetter
	for _, dl := range f.dlq {
		if dl.Queue == queue && (id == "" || dl.ID == id) {
			out = append(out, dl)
			f.redrives[dl.ID]++
		} else {
			keep = append(keep, dl)
		}
	}
	f.dlq = keep
	f.mu.Unlock()
	for _, dl := range out {
		ev := f.newEvent("Role Updated", "role", dl.Function+" redriven", "Redrive", OutcomeDone)
		det := map[string]any{}
		json.Unmarshal(ev.Detail, &det)
		det["id"] = dl.DeliveryID
		ev.Detail, _ = json.Marshal(det)
		f.publish(ev)
	}
	return len(out), nil
}

func (f *fake) Purge(_ context.Context, queue string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.dlq)
	f.dlq = slices.DeleteFunc(f.dlq, func(dl DeadLetter) bool { return dl.Queue == queue })
	f.purges++
	return n - len(f.dlq), nil
}

func (f *fake) ReconcileRuns() ([]ReconcileRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.runs), nil
}

func (f *fake) Sandbox(context.Context) (Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Sandbox{Peers: slices.Clone(f.sb.Peers), Roles: slices.Clone(f.sb.Roles), Circles: slices.Clone(f.sb.Circles)}, nil
}

// EditSandbox edits the organization and publishes the event its webhook becomes.
func (f *fake) EditSandbox(_ context.Context, e SandboxEdit) error {
	f.mu.Lock()
	f.edits = append(f.edits, e)
	var kind, entity, name string
	switch e.Op {
	case "rename-role":
		i := slices.IndexFunc(f.sb.Roles, func(x Entity) bool { return x.ID == e.ID })
		if i < 0 {
			f.mu.Unlock()
			return fmt.Errorf("no role %s", e.ID)
		}
		f.sb.Roles[i].Name = e.Name
		kind, entity, name = "Role Updated", "role", e.Name
	case "rename-circle":
		kind, entity, name = "Group Updated", "group", e.Name
	case "add-peer":
		f.sb.Peers = append(f.sb.Peers, Entity{ID: "peer-new", Name: e.FirstName + " " + e.LastName})
		kind, entity, name = "Peer Created", "peer", e.FirstName+" "+e.LastName
	}
	f.mu.Unlock()
	f.publish(f.newEvent(kind, entity, name, "Sandbox", OutcomeDone))
	return nil
}

func (f *fake) SampleKinds() []string {
	return []string{"role-created", "role-updated", "peer-created"}
}

func (f *fake) SendSample(_ context.Context, kind string) error {
	f.publish(f.newEvent(map[string]string{"role-created": "Role Created", "role-updated": "Role Updated", "peer-created": "Peer Created"}[kind], strings.Split(kind, "-")[0], "Sample "+kind, "Jane", OutcomeDone))
	return nil
}

func (f *fake) Rules() []string { return []string{"RoleDefaultsRule", "OnboardPeerRule"} }

func (f *fake) Replay(_ context.Context, eventID, rule string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replays = append(f.replays, eventID+" "+rule)
	return nil
}

// publishRaw hands ev to the subscribers only.
func (f *fake) publishRaw(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		ch <- ev
	}
}
