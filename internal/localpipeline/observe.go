package localpipeline

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The typed record (Config.Observe): what the pipeline tells of each webhook, event,
// routing, action attempt, retry, dead letter and redrive. Each record of one webhook
// carries its delivery id.

// outcomeKey carries, in a target's context, where it reports an outcome its error
// cannot say (ReportOutcome).
type outcomeKey struct{}

// reported is a target's own account of how its handling ended.
type reported struct {
	outcome observe.Outcome
	reason  string
}

// ReportOutcome tells the pipeline how a target's handling of the event in ctx ended,
// when its returned error cannot say it: an event it chose to ignore (observe.Ignored,
// with the reason). A target that reports nothing is done when it returns nil, failed
// when it returns an error. ctx is the one the pipeline gave the target; elsewhere it
// does nothing.
func ReportOutcome(ctx context.Context, outcome observe.Outcome, reason string) {
	if r, ok := ctx.Value(outcomeKey{}).(*reported); ok {
		r.outcome, r.reason = outcome, reason
	}
}

// eventSummary is what the records say of an event's detail.
type eventSummary struct {
	ID            string   `json:"id"`
	EntityID      string   `json:"entityId"`
	Name          string   `json:"name"`
	ChangedFields []string `json:"changedFields"`
	Text          string   `json:"text"`
	Author        struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
}

// summarize reads the summary from the detail the router decoded, or, when it decoded
// none, from the detail's JSON (only these fields).
func summarize(cw events.CloudWatchEvent, detail map[string]any) eventSummary {
	var s eventSummary
	if detail == nil {
		json.Unmarshal(cw.Detail, &s) // a detail that is not JSON gives no fields
		return s
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	s.ID, s.EntityID, s.Name, s.Text = str(detail, "id"), str(detail, "entityId"), str(detail, "name"), str(detail, "text")
	if changed, _ := detail["changedFields"].([]any); len(changed) > 0 {
		s.ChangedFields = make([]string, len(changed))
		for i, c := range changed {
			s.ChangedFields[i], _ = c.(string)
		}
	}
	author, _ := detail["author"].(map[string]any)
	s.Author.Name, s.Author.Email = str(author, "name"), str(author, "email")
	return s
}

// eventDeliveryID is the delivery id of an event (its detail's "id").
func eventDeliveryID(cw events.CloudWatchEvent) string {
	var d struct {
		ID string `json:"id"`
	}
	json.Unmarshal(cw.Detail, &d)
	return d.ID
}

// Describe is what the record of an event says of it: its delivery id and the
// Published payload (Event and RoutedTo left empty). detail is the decoded detail when
// there is one at hand, else nil (the few fields are read from the event's JSON).
func Describe(cw events.CloudWatchEvent, detail map[string]any) (deliveryID string, pub *observe.Published) {
	sum := summarize(cw, detail)
	return sum.ID, &observe.Published{DetailType: cw.DetailType, Source: cw.Source, EntityID: sum.EntityID,
		Name: sum.Name, ChangedFields: sum.ChangedFields, Author: sum.Author.Name, AuthorEmail: sum.Author.Email,
		Unrecognized: cw.DetailType == peerdom.DetailTypeUnrecognized, Text: observe.Clip(sum.Text)}
}

// notePublished records an event on the bus and the rules that matched it, and gives
// its jobs the delivery id (read once here). raw is its JSON as a target gets it (nil:
// made here).
func (p *Pipeline) notePublished(cw events.CloudWatchEvent, detail map[string]any, routedTo []string, matched []*Route, raw []byte, jobs []job) {
	if p.obs == nil {
		return
	}
	if raw == nil {
		raw, _ = json.Marshal(cw)
	}
	id, pub := Describe(cw, detail)
	pub.RoutedTo = routedTo
	for i := range jobs {
		jobs[i].deliveryID = id
	}
	if len(raw) <= observe.MaxField {
		pub.Event = raw
	}
	p.obs.Publish(observe.Record{Kind: observe.KindPublished, DeliveryID: id, EventID: cw.ID, Published: pub})
	for _, r := range matched {
		p.obs.Publish(observe.Record{Kind: observe.KindRouted, DeliveryID: id, EventID: cw.ID,
			Routed: &observe.Routed{Rule: r.Rule, Function: r.Function, Pattern: r.Pattern.String(), Delivered: r.Target != nil}})
	}
}

// deliveryKey carries a delivery's id in its target's context (DeliveryID).
type deliveryKey struct{}

// DeliveryID is the delivery id of the event a target was given ctx for ("" elsewhere):
// for the records a target makes itself (its API calls).
func DeliveryID(ctx context.Context) string {
	id, _ := ctx.Value(deliveryKey{}).(string)
	return id
}

// record publishes one record about job j.
func (p *Pipeline) record(j *job, r observe.Record) {
	if p.obs == nil {
		return
	}
	r.EventID = j.event.ID
	if j.deliveryID == "" {
		j.deliveryID = eventDeliveryID(j.event)
	}
	r.DeliveryID = j.deliveryID
	p.obs.Publish(r)
}
