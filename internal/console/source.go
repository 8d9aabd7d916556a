package console

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Source is what the console shows and acts on: serve's pipeline (its observer, queues,
// sandbox) or a deployed stack. Every method is safe for concurrent use. A part the
// source does not have (no sandbox with --peerdom-url, no replay for a deployed stack)
// answers ErrUnavailable, and its page says so.
type Source interface {
	// Events are the events kept (a bounded ring), oldest first.
	Events() []Event
	// Event is one kept event by its bus id.
	Event(id string) (Event, bool)
	// Subscribe sends each event when it is published and again each time it changes
	// (an action's call or outcome), until cancel is called. A subscriber that does not
	// keep up misses updates rather than slowing the pipeline; after missing some it
	// gets an Event with no ID, and may read Events again.
	Subscribe() (updates <-chan Event, cancel func())

	// DeadLetters lists both dead-letter queues.
	DeadLetters(ctx context.Context) ([]DeadLetter, error)
	// Redrive sends dead letter id of queue back (id "": all of them) and says how many.
	Redrive(ctx context.Context, queue, id string) (int, error)
	// Purge deletes every dead letter of queue and says how many.
	Purge(ctx context.Context, queue string) (int, error)

	// ReconcileRuns are the reconcile runs kept, oldest first.
	ReconcileRuns() ([]ReconcileRun, error)

	// Sandbox is the sandbox Peerdom's organization.
	Sandbox(ctx context.Context) (Sandbox, error)
	// EditSandbox makes one edit in the sandbox Peerdom, which sends its webhook.
	EditSandbox(ctx context.Context, edit SandboxEdit) error
	// SampleKinds are the sample webhook kinds SendSample takes.
	SampleKinds() []string
	// SendSample posts one sample webhook of kind to the webhook endpoint.
	SendSample(ctx context.Context, kind string) error

	// Rules are the rules an event may be replayed to.
	Rules() []string
	// Replay hands the event to the targets of one rule again.
	Replay(ctx context.Context, eventID, rule string) error
}

// ErrUnavailable is what a Source answers for a part it does not have.
var ErrUnavailable = errors.New("not available here")

// Queue names of DeadLetter.Queue.
const (
	QueueWebhooks = "webhooks" // the webhook queue's dead letters
	QueueEvents   = "events"   // the events whose action failed every attempt
)

// Event is one event on the bus and what became of it.
type Event struct {
	ID         string          // the bus event's id
	Time       time.Time       // when it was published
	DetailType string          // "Role Updated", ...
	Detail     json.RawMessage // the event's detail, as published
	Routes     []Route         // the rules that matched it
	Actions    []Action        // each target's run, in the order they started
}

// Route is one rule that matched an event, and why.
type Route struct {
	Rule    string   // the rule's name
	Pattern string   // its event pattern (JSON)
	Matched []string // the fields of the event its pattern tested
	Targets []string // the functions it sends to
}

// Action outcomes.
const (
	OutcomeRunning      = "running"
	OutcomeDone         = "done"
	OutcomeIgnored      = "ignored"
	OutcomeFailed       = "failed" // an attempt failed; it may be retried
	OutcomeDeadLettered = "dead-lettered"
)

// Action is one target's run on an event: its attempts' API calls and the outcome.
type Action struct {
	Function string
	Rule     string
	Outcome  string // Outcome*
	Reason   string // why it was ignored, or the last error
	Attempts int
	Calls    []APICall
}

// APICall is one Peerdom API call an action made. It never holds a header.
type APICall struct {
	Attempt  int
	Method   string
	Path     string
	Status   int // 0: no answer (Error says why)
	Duration time.Duration
	Request  string // the request body
	Response string // the response body
	Error    string
}

// DeadLetter is one message in a dead-letter queue.
type DeadLetter struct {
	Queue      string // QueueWebhooks or QueueEvents
	ID         string
	Time       time.Time // when it was sent, or when its event was published
	Receives   int
	Error      string
	Function   string // QueueEvents: the action that failed
	DeliveryID string
	Body       string // the webhook's text, or the event's detail
}

// ReconcileRun is one reconcile run.
type ReconcileRun struct {
	Started     time.Time
	Duration    time.Duration
	Differences []Difference // the events it published
	Drift       int          // entities whose state differed
	Error       string
}

// Difference is one change reconcile published.
type Difference struct {
	EventID    string
	DetailType string
	Name       string
	Fields     []string
}

// Sandbox is the sandbox Peerdom's organization.
type Sandbox struct {
	Peers   []Entity
	Roles   []Entity
	Circles []Entity
}

// Entity is one peer, role or circle.
type Entity struct {
	ID     string
	Name   string
	Fields map[string]string // a few readable fields (email, purpose, parent)
}

// SandboxEdit is one edit of the sandbox Peerdom.
type SandboxEdit struct {
	Op        string // "rename-role", "rename-circle", "add-peer"
	ID        string // the role or circle
	Name      string // the new name
	FirstName string // add-peer
	LastName  string
}

// StatusSource is a Source with a status page (a deployed stack's queues, alarms and
// metrics; serve's counts).
type StatusSource interface {
	Status(ctx context.Context) (Status, error)
}

// Status is the status page: sections of named values.
type Status struct {
	Sections []StatusSection
}

// StatusSection is one table of the status page.
type StatusSection struct {
	Title string
	Rows  []StatusRow
}

// StatusRow is one named value; Bad marks it (an alarm firing, a dead letter waiting).
type StatusRow struct {
	Name, Value string
	Bad         bool
}
