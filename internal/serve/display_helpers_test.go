package serve

import (
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/observe"
)

// The display tests feed it what the pipeline's records carry; these build them from an
// event.

// event is the record of ev published, routed to routedTo.
func (d *display) event(ev events.CloudWatchEvent, detail map[string]any, routedTo []string) {
	id, pub := localpipeline.Describe(ev, detail)
	pub.RoutedTo = routedTo
	d.record(observe.Record{Kind: observe.KindPublished, Time: time.Now(), DeliveryID: id, EventID: ev.ID, Published: pub})
}

// actionDone is the record of fn's attempt on ev: done, or failed with err (final once
// Lambda's default 2 retries are spent).
func (d *display) actionDone(fn string, ev events.CloudWatchEvent, attempt int, err error) {
	o := &observe.ActionOutcome{Function: fn, DetailType: ev.DetailType, Attempt: attempt, Outcome: observe.Done, Final: true}
	if err != nil {
		o.Outcome, o.Error, o.Final = observe.Failed, err.Error(), attempt > 2
	}
	d.outcomeOf(ev, o)
}

// actionIgnored is the record of fn ignoring ev.
func (d *display) actionIgnored(fn string, ev events.CloudWatchEvent, attempt int, reason string) {
	d.outcomeOf(ev, &observe.ActionOutcome{Function: fn, DetailType: ev.DetailType, Attempt: attempt, Outcome: observe.Ignored, Reason: reason, Final: true})
}

func (d *display) outcomeOf(ev events.CloudWatchEvent, o *observe.ActionOutcome) {
	id, _ := localpipeline.Describe(ev, nil)
	d.record(observe.Record{Kind: observe.KindOutcome, DeliveryID: id, EventID: ev.ID, Outcome: o})
}
