package serve

// The in-process API of a running serve, for a console served by the same process (it
// is what the admin endpoint and the terminal display use too). Everything here is
// safe to call from any goroutine while serve runs:
//
//   - Records: the typed record of the pipeline (internal/observe) — its ring of the
//     last records, every count since start, live subscriptions (SubscribeSince).
//   - Status: the queue, the dead-letter lists and the counts, as status --local shows.
//   - DeadLetters, Redrive, Purge: the webhook and event dead-letter lists.
//   - Rules, ReplayEvent: the template's rules, and one recorded event handed to one rule.
//   - SendSample: a sample webhook of a kind (internal/webhooksamples) sent in.
//   - SandboxAPI: a client of the sandbox Peerdom; its writes send their webhooks in, as
//     Peerdom's do, so an edit comes back as an event.
//   - ReconcileRuns: the reconciliation runs the ring still holds.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Status is serve's status in the deployed stack's shape (status --local).
func (s *Stack) Status() operate.Status { return s.localStatus(time.Now()) }

// DeadLetters lists a dead-letter list, operate.Webhooks or operate.Events, bodies
// included (the webhook's envelope, the event's JSON), each with the error that put it
// there.
func (s *Stack) DeadLetters(kind string) []operate.DeadLetter { return s.localDeadLetters(kind) }

// Redrive hands dead letters back: webhooks to the queue, events to their functions (as
// new deliveries). ids names them (a webhook by message or delivery id, an event by its
// id); all takes every one. It returns how many moved; an error with some moved says
// which stayed.
func (s *Stack) Redrive(kind string, ids []string, all bool) (int, error) {
	switch kind {
	case operate.Webhooks:
		return s.pipeline.RedriveQueue(s.queueLetterIDs(ids, all))
	case operate.Events:
		return s.pipeline.RedriveActions(func(d localpipeline.DeadAction) bool {
			return all || slices.Contains(ids, d.Event.ID)
		})
	}
	return 0, fmt.Errorf("no dead-letter list %q: %s or %s", kind, operate.Webhooks, operate.Events)
}

// Purge drops dead letters, named as for Redrive, and returns how many it dropped.
func (s *Stack) Purge(kind string, ids []string, all bool) (int, error) {
	switch kind {
	case operate.Webhooks:
		return s.pipeline.PurgeQueue(s.queueLetterIDs(ids, all)), nil
	case operate.Events:
		return s.pipeline.PurgeActions(func(d localpipeline.DeadAction) bool {
			return all || slices.Contains(ids, d.Event.ID)
		}), nil
	}
	return 0, fmt.Errorf("no dead-letter list %q: %s or %s", kind, operate.Webhooks, operate.Events)
}

// queueLetterIDs are the message ids of the webhook dead letters ids names (by message
// or delivery id); nil with all.
func (s *Stack) queueLetterIDs(ids []string, all bool) []string {
	if all {
		return nil
	}
	out := []string{}
	for _, l := range s.localDeadLetters(operate.Webhooks) {
		if slices.Contains(ids, l.MessageID) || (l.DeliveryID != "" && slices.Contains(ids, l.DeliveryID)) {
			out = append(out, l.MessageID)
		}
	}
	return out
}

// Rule is one rule of the template's, as serve routes by it.
type Rule struct {
	Function  string `json:"function"` // its target's logical id
	Rule      string `json:"rule"`
	Pattern   string `json:"pattern"`   // the event pattern, as JSON
	Delivered bool   `json:"delivered"` // false: shown, not run (--no-actions, or no local implementation)
}

// Rules are the rules serve routes events by.
func (s *Stack) Rules() []Rule {
	var out []Rule
	for _, r := range s.pipeline.Routes {
		out = append(out, Rule{Function: r.Function, Rule: r.Rule, Pattern: r.Pattern.String(), Delivered: r.Target != nil})
	}
	return out
}

// ErrNotInRecord: the event is no longer in the ring (or its JSON was too large to keep).
var ErrNotInRecord = errors.New("the event is not in serve's record any more")

// ReplayEvent hands the recorded event eventID to the target of one rule (function and
// rule as Rules names them) as a new delivery, whether or not the rule matches it.
func (s *Stack) ReplayEvent(eventID, function, rule string) error {
	recs := s.obs.Filter(func(r *observe.Record) bool { return r.Published != nil && r.EventID == eventID })
	if len(recs) == 0 || len(recs[0].Published.Event) == 0 {
		return ErrNotInRecord
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(recs[0].Published.Event, &ev); err != nil {
		return fmt.Errorf("the recorded event %s: %w", eventID, err)
	}
	return s.pipeline.Deliver(function, rule, ev)
}

// SendSample sends the sample webhook of kind (webhooksamples.Kinds) to the webhook
// endpoint, in process, as `peerbridge send --kind` would over HTTP, and returns its
// delivery id (empty when refused) and the endpoint's status.
func (s *Stack) SendSample(ctx context.Context, kind string) (deliveryID string, status int, err error) {
	body, ok := webhooksamples.Body(kind)
	if !ok {
		return "", 0, fmt.Errorf("no sample webhook %q; the kinds: %v", kind, webhooksamples.Kinds())
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, s.webhookURL, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("User-Agent", "peerbridge-console")
	rec := httptest.NewRecorder()
	s.webhooks.ServeHTTP(rec, req)
	var ans struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.Unmarshal(rec.Body.Bytes(), &ans)
	if rec.Code != http.StatusOK {
		return "", rec.Code, fmt.Errorf("the endpoint answered %d: %s", rec.Code, ans.Error)
	}
	return ans.ID, rec.Code, nil
}

// ErrNoSandbox: serve runs against a real Peerdom (--peerdom-url).
var ErrNoSandbox = errors.New("serve runs against a real Peerdom (--peerdom-url): there is no sandbox")

// SandboxAPI is a client of the sandbox Peerdom's API (list and edit its peers, roles
// and circles). Each write sends its webhook to serve, as Peerdom does, so it comes back
// as an event.
func (s *Stack) SandboxAPI() (*peerdomapi.Client, error) {
	if s.sandbox == nil {
		return nil, ErrNoSandbox
	}
	return peerdomapi.New(s.sandboxURL, s.sandbox.Config().APIKey, peerdomapi.WithUserAgent("peerbridge-console"))
}

// ReconcileRuns are the reconciliation runs the ring still holds, oldest first.
func (s *Stack) ReconcileRuns() []observe.Record {
	return s.obs.Filter(func(r *observe.Record) bool { return r.Reconcile != nil })
}
