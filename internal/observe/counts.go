package observe

import "time"

// Counts are what a Stream counted since it began, whatever the ring still holds: serve's
// status shows them under the deployed stack's metric names.
type Counts struct {
	Since time.Time `json:"since"`

	WebhooksAccepted int64 `json:"webhooksAccepted"`
	WebhooksRefused  int64 `json:"webhooksRefused"`
	DeliveriesFailed int64 `json:"deliveriesFailed"` // the worker's failures to publish a queued webhook
	EventsPublished  int64 `json:"eventsPublished"`
	Unrecognized     int64 `json:"unrecognized"`
	Routed           int64 `json:"routed"`

	ActionsStarted int64 `json:"actionsStarted"` // attempts
	ActionsDone    int64 `json:"actionsDone"`
	ActionsIgnored int64 `json:"actionsIgnored"`
	ActionsFailed  int64 `json:"actionsFailed"` // failed attempts (a retried event counts each)
	APICalls       int64 `json:"apiCalls"`
	Retries        int64 `json:"retries"`

	WebhooksDeadLettered int64 `json:"webhooksDeadLettered"`
	EventsDeadLettered   int64 `json:"eventsDeadLettered"`
	Redriven             int64 `json:"redriven"`
	Purged               int64 `json:"purged"`

	ReconcileRuns int64 `json:"reconcileRuns"`
	Drift         int64 `json:"drift"` // differences reconciliation published
}

// add counts one record; called with the stream locked.
func (c *Counts) add(r *Record) {
	switch r.Kind {
	case KindWebhook:
		if r.Webhook != nil && r.Webhook.Accepted {
			c.WebhooksAccepted++
		} else {
			c.WebhooksRefused++
		}
	case KindDeliveryFail:
		c.DeliveriesFailed++
	case KindPublished:
		c.EventsPublished++
		if r.Published != nil && r.Published.Unrecognized {
			c.Unrecognized++
		}
	case KindRouted:
		c.Routed++
	case KindActionStart:
		c.ActionsStarted++
	case KindAPICall:
		c.APICalls++
	case KindOutcome:
		if r.Outcome == nil {
			break
		}
		switch r.Outcome.Outcome {
		case Done:
			c.ActionsDone++
		case Ignored:
			c.ActionsIgnored++
		case Failed:
			c.ActionsFailed++
		}
	case KindRetried:
		c.Retries++
	case KindDeadLetter:
		if r.DeadLetter != nil && r.DeadLetter.Queue == QueueEvents {
			c.EventsDeadLettered++
		} else {
			c.WebhooksDeadLettered++
		}
	case KindRedriven:
		if r.Redriven != nil {
			c.Redriven += int64(r.Redriven.Count)
		}
	case KindPurged:
		if r.Purged != nil {
			c.Purged += int64(r.Purged.Count)
		}
	case KindReconcile:
		c.ReconcileRuns++
		if r.Reconcile != nil {
			c.Drift += int64(r.Reconcile.Drift)
		}
	}
}
