// Package observe is the typed record of what serve's local pipeline does: each webhook
// accepted or refused, each event published and where the rules routed it, each action's
// start, Peerdom API calls and outcome, retries, dead letters, redrives, purges and
// reconciliation runs. The terminal display, the admin endpoint's counts and the console
// read it; nothing parses log lines for it.
//
// A Stream keeps the last records in a bounded ring (by count and by bytes) and hands each
// new one to its subscribers without ever waiting for them: a subscriber that does not keep
// up loses records and is told how many (a record of Kind Lost). Publishing with nobody
// subscribed costs a lock and a copy into the ring (see the benchmarks).
package observe

import (
	"encoding/json"
	"time"
)

// Kind says what a Record is about; its payload is the field of the same name.
type Kind string

const (
	KindWebhook      Kind = "webhook"       // Webhook: a request to the webhook endpoint, accepted or refused
	KindDeliveryFail Kind = "delivery-fail" // DeliveryFail: the worker could not publish a queued webhook (it is retried)
	KindPublished    Kind = "published"     // Published: an event on the bus
	KindRouted       Kind = "routed"        // Routed: a rule matched an event
	KindActionStart  Kind = "action-start"  // Action: an action begins an attempt on an event
	KindAPICall      Kind = "api-call"      // APICall: an action's call to the Peerdom API
	KindOutcome      Kind = "outcome"       // Outcome: an action's attempt ended: done, ignored or failed
	KindRetried      Kind = "retried"       // Retried: a failed attempt is tried again later
	KindDeadLetter   Kind = "dead-letter"   // DeadLetter: a webhook or an action's event dead-lettered
	KindRedriven     Kind = "redriven"      // Redriven: dead letters handed back
	KindPurged       Kind = "purged"        // Purged: dead letters dropped
	KindReconcile    Kind = "reconcile"     // Reconcile: a reconciliation run
	KindLost         Kind = "lost"          // Lost: records a subscriber missed (only in a Subscription)
)

// Outcome is how an action's attempt on an event ended.
type Outcome string

const (
	Done    Outcome = "done"    // the action did its work (or had none to do)
	Ignored Outcome = "ignored" // the action chose not to act (its reason is given)
	Failed  Outcome = "failed"  // an error: the event is retried, then dead-lettered
)

// The dead-letter lists.
const (
	QueueWebhooks = "webhooks" // the webhook queue's: a webhook the worker could not publish
	QueueEvents   = "events"   // the actions': an event whose action failed every attempt
)

// Record is one thing that happened. Seq (from 1, in publishing order) and Time are set
// by Stream.Publish; DeliveryID (the webhook's delivery id, the event detail's "id") links
// the records of one webhook: its acceptance, its event, the routing, the actions' calls
// and outcomes. Exactly one payload field is set, the one Kind names.
type Record struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Kind       Kind      `json:"kind"`
	DeliveryID string    `json:"deliveryId,omitempty"`
	EventID    string    `json:"eventId,omitempty"` // the bus event's id, once there is one

	Webhook      *Webhook       `json:"webhook,omitempty"`
	DeliveryFail *DeliveryFail  `json:"deliveryFail,omitempty"`
	Published    *Published     `json:"published,omitempty"`
	Routed       *Routed        `json:"routed,omitempty"`
	Action       *Action        `json:"action,omitempty"`
	APICall      *APICall       `json:"apiCall,omitempty"`
	Outcome      *ActionOutcome `json:"outcome,omitempty"`
	Retried      *Retried       `json:"retried,omitempty"`
	DeadLetter   *DeadLetter    `json:"deadLetter,omitempty"`
	Redriven     *Redriven      `json:"redriven,omitempty"`
	Purged       *Purged        `json:"purged,omitempty"`
	Reconcile    *Reconcile     `json:"reconcile,omitempty"`
	Lost         uint64         `json:"lost,omitempty"` // KindLost: how many records were missed
}

// Webhook is one request to the webhook endpoint, recorded once it is answered: the
// worker may have published a queued webhook's event, recorded first, by then.
type Webhook struct {
	Status   int    `json:"status"`           // the HTTP status answered (delivery id set for 200)
	Accepted bool   `json:"accepted"`         // queued (status 200)
	Reason   string `json:"reason,omitempty"` // why it was refused
	Bytes    int64  `json:"bytes,omitempty"`  // the body's length, when read
}

// DeliveryFail is the worker's failure to publish a queued webhook; the queue retries it
// and dead-letters it after its last receive.
type DeliveryFail struct {
	MessageID string `json:"messageId"`
	Error     string `json:"error"`
}

// Published is an event on the bus.
type Published struct {
	DetailType    string          `json:"detailType"`
	Source        string          `json:"source,omitempty"`
	EntityID      string          `json:"entityId,omitempty"`
	Name          string          `json:"name,omitempty"`          // the entity's name
	ChangedFields []string        `json:"changedFields,omitempty"` // the fields an update changed
	Author        string          `json:"author,omitempty"`        // the author's name
	AuthorEmail   string          `json:"authorEmail,omitempty"`
	Unrecognized  bool            `json:"unrecognized,omitempty"` // Peerdom text the parser did not recognize
	Event         json.RawMessage `json:"event,omitempty"`        // the event as EventBridge delivers it to a target (Clip'ped)
	Text          string          `json:"text,omitempty"`         // the webhook's Markdown text, when known (Clip'ped)
	RoutedTo      []string        `json:"routedTo,omitempty"`     // the functions the rules matched
}

// Routed is one rule matching an event.
type Routed struct {
	Rule      string `json:"rule"`
	Function  string `json:"function"`          // the rule's target
	Pattern   string `json:"pattern,omitempty"` // the rule's event pattern, as JSON
	Delivered bool   `json:"delivered"`         // false: shown only (no local target, or --no-actions)
}

// Action is the start of an action's attempt on an event.
type Action struct {
	Function   string `json:"function"`
	DetailType string `json:"detailType,omitempty"` // the event's
	Rule       string `json:"rule,omitempty"`
	Attempt    int    `json:"attempt"` // from 1
}

// APICall is an action's call to the Peerdom API. Its bodies never hold the API key: it
// travels in a header, and headers are not recorded.
type APICall struct {
	Function string        `json:"function,omitempty"`
	Action   string        `json:"action,omitempty"` // the action's own name (its log's "action"), when it differs
	Method   string        `json:"method"`
	Path     string        `json:"path"`             // with its query
	Status   int           `json:"status,omitempty"` // 0: no answer (Error says why)
	Duration time.Duration `json:"duration"`
	Request  string        `json:"request,omitempty"`  // the request body (Clip'ped)
	Response string        `json:"response,omitempty"` // the response body (Clip'ped)
	Error    string        `json:"error,omitempty"`
}

// ActionOutcome is how an action's attempt ended.
type ActionOutcome struct {
	Function   string        `json:"function"`
	DetailType string        `json:"detailType,omitempty"` // the event's
	Attempt    int           `json:"attempt"`
	Outcome    Outcome       `json:"outcome"`
	Reason     string        `json:"reason,omitempty"` // Ignored: why
	Error      string        `json:"error,omitempty"`  // Failed: the error
	Duration   time.Duration `json:"duration,omitempty"`
	Final      bool          `json:"final"` // no retry follows (done, ignored, or the last failed attempt)
}

// Retried is a failed attempt to be tried again after Delay.
type Retried struct {
	Function string        `json:"function"`
	Attempt  int           `json:"attempt"` // the attempt to come
	Delay    time.Duration `json:"delay"`
	Error    string        `json:"error"`
}

// DeadLetter is a webhook (Queue QueueWebhooks, by its queue MessageID) or an action's
// event (QueueEvents, with its Function) moved to a dead-letter list.
type DeadLetter struct {
	Queue      string `json:"queue"`
	DetailType string `json:"detailType,omitempty"` // QueueEvents: the event's
	MessageID  string `json:"messageId,omitempty"`
	Function   string `json:"function,omitempty"`
	Error      string `json:"error"`
}

// Redriven is dead letters handed back: to the webhook queue, or to their functions.
type Redriven struct {
	Queue string   `json:"queue"`
	Count int      `json:"count"`
	IDs   []string `json:"ids,omitempty"` // the letters named; empty: all
}

// Purged is dead letters dropped.
type Purged struct {
	Queue string `json:"queue"`
	Count int    `json:"count"`
}

// Reconcile is one reconciliation run.
type Reconcile struct {
	Baseline    bool          `json:"baseline,omitempty"` // the first run: it records, publishes nothing
	Differences []Difference  `json:"differences,omitempty"`
	Drift       int           `json:"drift"` // differences published
	Duration    time.Duration `json:"duration"`
	Error       string        `json:"error,omitempty"`
}

// Difference is one change reconciliation found and published.
type Difference struct {
	DetailType string `json:"detailType"`
	EntityID   string `json:"entityId,omitempty"`
	EventID    string `json:"eventId,omitempty"`
	DeliveryID string `json:"deliveryId,omitempty"`
}

// MaxField bounds a body or text kept in a record (Clip): the ring's memory stays bounded
// whatever the pipeline carries.
const MaxField = 64 << 10

// Clip returns s cut to MaxField bytes (at a rune boundary), marked when cut.
func Clip(s string) string {
	if len(s) <= MaxField {
		return s
	}
	cut := MaxField
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not in the middle of a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…(clipped)"
}

// size estimates the bytes a record holds, for the ring's byte bound.
func (r *Record) size() int {
	n := 256 + len(r.DeliveryID) + len(r.EventID)
	switch {
	case r.Published != nil:
		n += len(r.Published.Event) + len(r.Published.Text)
	case r.APICall != nil:
		n += len(r.APICall.Request) + len(r.APICall.Response) + len(r.APICall.Path)
	case r.Reconcile != nil:
		n += 128 * len(r.Reconcile.Differences)
	case r.Outcome != nil:
		n += len(r.Outcome.Error) + len(r.Outcome.Reason)
	case r.DeadLetter != nil:
		n += len(r.DeadLetter.Error)
	case r.DeliveryFail != nil:
		n += len(r.DeliveryFail.Error)
	case r.Redriven != nil:
		n += 40 * len(r.Redriven.IDs)
	}
	return n
}
