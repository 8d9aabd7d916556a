package stackview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/operate/operatetest"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// openView deploys the operator commands' test stack to moto (a stack of its own, named
// uniquely per run) and opens a View on it.
func openView(t *testing.T, opts Options) *View {
	t.Helper()
	if opts.JournalDir == "" {
		opts.JournalDir = t.TempDir()
	}
	v, err := Open(context.Background(), mototest.Config(t), operatetest.Deploy(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *View) output(t *testing.T, key string) string {
	t.Helper()
	s, err := v.stack.Output(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// putSample puts on the stack's bus the event the worker publishes for a sample webhook
// (its detail as peerdom encodes it), and returns the delivery id.
func putSample(t *testing.T, v *View, kind string) string {
	t.Helper()
	text, ok := webhooksamples.Get(kind)
	if !ok {
		t.Fatalf("no sample %s", kind)
	}
	ev := peerdom.NewEvent("", peerdom.NewDelivery("", time.Now().UTC(), text, peerdom.Sender{}))
	detail, err := ev.Detail.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	putEntry(t, v, ebtypes.PutEventsRequestEntry{Source: aws.String(ev.Source), DetailType: aws.String(ev.DetailType),
		Detail: aws.String(string(detail)), Time: aws.Time(ev.Time)})
	return ev.Detail.ID
}

func putEntry(t *testing.T, v *View, e ebtypes.PutEventsRequestEntry) {
	t.Helper()
	e.EventBusName = aws.String(v.output(t, operate.OutputEventBusName))
	out, err := eventbridge.NewFromConfig(mototest.Config(t)).PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{e}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put events: %v %+v", err, out)
	}
}

// waitTail waits until the tail's state satisfies cond, by its change notifications.
func waitTail(t *testing.T, v *View, what string, cond func(TailState) bool) TailState {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		s, changed := v.TailStatus()
		if cond(s) {
			return s
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for the tail to be %s; it is %+v", what, s)
		}
	}
}

// tapLeft lists what is left in moto of the tap named rule: its rule on the bus, its
// queue, and any queue tagged as a tail of the stack.
func tapLeft(t *testing.T, v *View, rule string) []string {
	t.Helper()
	ctx := context.Background()
	cfg := mototest.Config(t)
	var left []string
	rules, err := eventbridge.NewFromConfig(cfg).ListRules(ctx, &eventbridge.ListRulesInput{
		EventBusName: aws.String(v.output(t, operate.OutputEventBusName)), NamePrefix: aws.String(operate.TailRulePrefix)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.Rules {
		left = append(left, "rule "+aws.ToString(r.Name))
	}
	sq := sqs.NewFromConfig(cfg)
	queues, err := sq.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(operate.TailRulePrefix)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range queues.QueueUrls {
		mine := rule != "" && strings.HasSuffix(u, "/"+rule)
		if !mine {
			tags, err := sq.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(u)})
			mine = err == nil && tags.Tags[operate.TailTag] == v.stack.Name // an error: deleted meanwhile by another test's tail
		}
		if mine {
			left = append(left, "queue "+u)
		}
	}
	return left
}

// A tail against the stack: while it runs, its rule and queue exist; the bus's events
// that match come into the stream as observe records (each published once, with the
// rules and targets it matched); a foreign event comes raw; when its context is
// cancelled, Tail removes the rule and the queue and returns nil.
func TestTailDecodesEventsAndCleansUpOnCancel(t *testing.T) {
	t.Parallel() // a stack of its own
	v := openView(t, Options{Pattern: `{"source": ["peerdom", "someone.else"]}`})
	// The onboarding rule disabled: it routes nothing, so no event shows it. The enrich
	// rule sends to a queue.
	bus := v.output(t, operate.OutputEventBusName)
	chatRule, enrichRule := v.stack.Name+"-ChatRule-GHI", v.stack.Name+"-EnrichFunctionEntityChanged-DEF"
	if _, err := v.eb.DisableRule(context.Background(), &eventbridge.DisableRuleInput{EventBusName: aws.String(bus),
		Name: aws.String(v.stack.Name + "-OnboardPeerFunctionPeerCreated-ABC")}); err != nil {
		t.Fatal(err)
	}
	enrichTarget := mototest.Name("enrich-target")
	q, err := v.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(enrichTarget)})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := mototest.QueueARN(context.Background(), v.sqs, aws.ToString(q.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.eb.PutTargets(context.Background(), &eventbridge.PutTargetsInput{EventBusName: aws.String(bus), Rule: aws.String(enrichRule),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(arn)}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Tail(ctx) }()
	st := waitTail(t, v, "running", func(s TailState) bool { return s.State == TailRunning || s.State == TailFailed })
	if st.State != TailRunning || !strings.HasPrefix(st.Rule, operate.TailRulePrefix) || st.Bus != v.output(t, operate.OutputEventBusName) {
		t.Fatalf("tail state %+v", st)
	}
	if err := v.Tail(ctx); !errors.Is(err, ErrTailRunning) {
		t.Errorf("a second Tail: %v", err)
	}
	if left := tapLeft(t, v, st.Rule); len(left) != 2 {
		t.Fatalf("while tailing: %v, want its rule and queue", left)
	}

	var want []string
	for _, kind := range webhooksamples.Kinds() {
		want = append(want, putSample(t, v, kind))
	}
	putEntry(t, v, ebtypes.PutEventsRequestEntry{Source: aws.String("someone.else"), DetailType: aws.String("Invoice Paid"), Detail: aws.String(`{"amount": 3}`)})
	putEntry(t, v, ebtypes.PutEventsRequestEntry{Source: aws.String("not.tailed"), DetailType: aws.String("Role Created"), Detail: aws.String(`{"text": "x"}`)})

	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	sub := v.Stream().SubscribeSince(wctx, 0)
	recs := sub.History
	published := func() int {
		return len(slices.DeleteFunc(slices.Clone(recs), func(r observe.Record) bool { return r.Kind != observe.KindPublished }))
	}
	for published() < len(want)+1 {
		r, ok := <-sub.C
		if !ok {
			t.Fatalf("waiting for events: got %d of %d", published(), len(want)+1)
		}
		recs = append(recs, r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Tail after cancel: %v", err)
	}
	if s, _ := v.TailStatus(); s.State != TailStopped {
		t.Errorf("state after cancel: %+v", s)
	}
	if left := tapLeft(t, v, st.Rule); len(left) != 0 {
		t.Errorf("left after the tail ended: %v", left)
	}

	// Per delivery id, each sample event published exactly once, with the whole event
	// and its text; the foreign one raw; the untailed source not at all. Where each went:
	// the test stack's enrich rule (given a queue as its target here) takes Role Created
	// and Peer Updated, its chat rule (no target) Role Created and Peer Created;
	// onboarding is disabled.
	wantRoutes := map[string][]string{
		"Role Created": {chatRule + " -> ", enrichRule + " -> " + enrichTarget},
		"Peer Created": {chatRule + " -> "},
		"Peer Updated": {enrichRule + " -> " + enrichTarget},
	}
	byDelivery := map[string]int{}
	routes := map[string][]string{} // by event id
	types := map[string]string{}    // detail-type by event id
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has Seq %d", i, r.Seq)
		}
		switch r.Kind {
		case observe.KindRouted:
			routes[r.EventID] = append(routes[r.EventID], r.Routed.Rule+" -> "+r.Routed.Function)
			if r.Routed.Pattern == "" || r.Routed.Delivered != (r.Routed.Function != "") {
				t.Errorf("routed %+v", r.Routed)
			}
			continue
		case observe.KindPublished:
		default:
			t.Errorf("record %+v", r)
			continue
		}
		p := r.Published
		types[r.EventID] = p.DetailType
		if p.Source == "someone.else" {
			if p.DetailType != "Invoice Paid" || r.DeliveryID != "" || !strings.Contains(string(p.Event), `"amount": 3`) && !strings.Contains(string(p.Event), `"amount":3`) {
				t.Errorf("foreign event %+v", p)
			}
			continue
		}
		byDelivery[r.DeliveryID]++
		var ev struct {
			ID     string         `json:"id"`
			Detail peerdom.Detail `json:"detail"`
		}
		if err := json.Unmarshal(p.Event, &ev); err != nil || ev.ID != r.EventID || ev.Detail.ID != r.DeliveryID || ev.Detail.Text != p.Text || p.Text == "" ||
			p.Source != peerdom.DefaultSource || p.DetailType != ev.Detail.DetailType() || p.Unrecognized != (p.DetailType == peerdom.DetailTypeUnrecognized) {
			t.Errorf("published %+v (%v)", p, err)
		}
		if want := wantRoutes[p.DetailType]; len(want) > 0 {
			var to []string
			for _, w := range want {
				if _, fn, _ := strings.Cut(w, " -> "); fn != "" {
					to = append(to, fn)
				}
			}
			if !slices.Equal(p.RoutedTo, to) {
				t.Errorf("%s routed to %v, want %v", p.DetailType, p.RoutedTo, to)
			}
		}
	}
	for id, got := range routes {
		slices.Sort(got)
		if want := wantRoutes[types[id]]; !slices.Equal(got, want) {
			t.Errorf("%s matched %v, want %v", types[id], got, want)
		}
	}
	for _, id := range want {
		if byDelivery[id] != 1 {
			t.Errorf("delivery %s came %d times", id, byDelivery[id])
		}
	}
	if len(byDelivery) != len(want) {
		t.Errorf("%d deliveries tailed, want %d: %v", len(byDelivery), len(want), byDelivery)
	}
	if c := v.Stream().Counts(); c.EventsPublished != int64(len(want)+1) || c.Unrecognized != 1 {
		t.Errorf("counts %+v", c)
	}
}

// A tail killed before it could clean up leaves its tagged rule and queue; the next
// tail, once their expiry passed, removes them and says so. One not yet expired (another
// tail may be running) stays.
func TestTailRemovesExpiredTaps(t *testing.T) {
	t.Parallel() // a stack of its own
	v := openView(t, Options{})
	ctx := context.Background()
	bus := v.output(t, operate.OutputEventBusName)
	old, err := operate.OpenTap(ctx, v.sqs, v.eb, bus, v.stack.Name, v.opts.Pattern, time.Now().Add(-operate.TailExpiry-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	other, err := operate.OpenTap(ctx, v.sqs, v.eb, bus, v.stack.Name, v.opts.Pattern, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Tail(tctx) }()
	st := waitTail(t, v, "running", func(s TailState) bool { return s.State == TailRunning || s.State == TailFailed })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.RemovedExpired, []string{old.Rule}) || st.Err != "" {
		t.Errorf("removed %v (err %q), want only %s", st.RemovedExpired, st.Err, old.Rule)
	}
	left := strings.Join(tapLeft(t, v, ""), " ")
	if strings.Contains(left, old.Rule) || strings.Contains(left, st.Rule) || strings.Count(left, other.Rule) != 2 {
		t.Errorf("left %s; want only %s's rule and queue", left, other.Rule)
	}
}

// When the tap's queue goes away under the tail (deleted by hand), receives fail: the
// tail retries, gives up, still removes its rule, and says why.
func TestTailGivesUpAndRemovesItsRule(t *testing.T) {
	t.Parallel() // a stack of its own
	v := openView(t, Options{retryBackoff: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- v.Tail(context.Background()) }()
	st := waitTail(t, v, "running", func(s TailState) bool { return s.State == TailRunning || s.State == TailFailed })
	queueURL := strings.TrimSuffix(v.output(t, operate.OutputWebhookQueueURL), lastSegment(v.output(t, operate.OutputWebhookQueueURL))) + st.Rule
	if _, err := v.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(queueURL)}); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("the tail did not give up")
	}
	if err == nil || !strings.Contains(err.Error(), "gave up after 6 failed receives") {
		t.Errorf("Tail: %v", err)
	}
	if s, _ := v.TailStatus(); s.State != TailFailed || !strings.Contains(s.Err, "gave up") {
		t.Errorf("state %+v", s)
	}
	if left := tapLeft(t, v, st.Rule); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
}

func lastSegment(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// Status is `peerbridge status`'s: queue and DLQ depths, the alarms (one in ALARM), the
// last hour's metric sums; the queues' part is reused within StatusInterval, the
// CloudWatch part within MetricsInterval, neither when fresh.
func TestStatus(t *testing.T) {
	t.Parallel() // a stack of its own
	now := time.Now()
	v := openView(t, Options{StatusInterval: time.Minute, MetricsInterval: 10 * time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	cw := operate.CloudWatch(mototest.Config(t))
	for _, a := range []struct {
		name  string
		state cwtypes.StateValue
	}{{"WebhookDLQAlarm-ABC", cwtypes.StateValueAlarm}, {"Ingest5xxAlarm-DEF", cwtypes.StateValueOk}} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(v.stack.Name + "-" + a.name),
			Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateNumberOfMessagesVisible"), Statistic: cwtypes.StatisticMaximum,
			Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(v.stack.Name + "-" + a.name),
			StateValue: a.state, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		name string
		v    float64
	}{{metrics.WebhooksAccepted, 5}, {metrics.WebhooksAccepted, 2}, {metrics.DeliveriesFailed, 1}} {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(metrics.Namespace(v.stack.Name)),
			MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(m.name), Value: aws.Float64(m.v), Timestamp: aws.Time(now.Add(-time.Minute))}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/SQS"), MetricData: []cwtypes.MetricDatum{{
		MetricName: aws.String("ApproximateAgeOfOldestMessage"), Value: aws.Float64(42), Timestamp: aws.Time(now.Add(-2 * time.Minute)),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(lastSegment(v.output(t, operate.OutputWebhookQueueURL)))}}}}}); err != nil {
		t.Fatal(err)
	}
	sendTo(t, v.output(t, operate.OutputWebhookQueueURL), 3)
	sendTo(t, v.output(t, operate.OutputWebhookDLQURL), 2)

	s, err := v.Status(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	firing := FiringAlarms(s)
	if s.Stack != v.stack.Name || s.Queue.Visible != 3 || len(s.DLQs) != 2 || s.DLQs[0].Visible != 2 || s.DLQs[1].Visible != 0 ||
		len(s.Alarms) != 2 || len(firing) != 1 || firing[0].Name != "WebhookDLQAlarm-ABC" ||
		s.LastHour[metrics.WebhooksAccepted] != 7 || s.LastHour[metrics.DeliveriesFailed] != 1 ||
		s.Queue.OldestAge == nil || *s.Queue.OldestAge != 42*time.Second || !strings.HasSuffix(s.WebhookURL, "/webhooks/<token>") {
		t.Errorf("status %+v (firing %v)", s, firing)
	}

	// More dead letters and another metric data point: reused within the intervals,
	// read again after them or when fresh.
	sendTo(t, v.output(t, operate.OutputWebhookDLQURL), 1)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(metrics.Namespace(v.stack.Name)),
		MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(metrics.DeliveriesFailed), Value: aws.Float64(4), Timestamp: aws.Time(now.Add(-time.Minute))}}}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, dlq int, failed float64) {
		t.Helper()
		s, err := v.Status(ctx, when == "fresh")
		if err != nil || s.DLQs[0].Visible != dlq || s.LastHour[metrics.DeliveriesFailed] != failed || len(FiringAlarms(s)) != 1 {
			t.Errorf("%s: %v, webhook DLQ %d, DeliveriesFailed %v; want %d and %v", when, err, s.DLQs[0].Visible, s.LastHour[metrics.DeliveriesFailed], dlq, failed)
		}
	}
	check("within both intervals", 2, 1)
	now = now.Add(2 * time.Minute) // past the queues' interval, within the metrics'
	check("after the queues' interval", 3, 1)
	check("fresh", 3, 5)
	sendTo(t, v.output(t, operate.OutputWebhookDLQURL), 1)
	now = now.Add(11 * time.Minute)
	check("after both intervals", 4, 5)

}

// sendTo puts n deliveries in a queue and returns their delivery ids.
func sendTo(t *testing.T, url string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		d := peerdom.NewDelivery("", time.Date(2026, 12, 7, 9, i, 0, 0, time.UTC), "**[Role](https://app.peerdom.org/acme/map/m/role/r)** was created\n\n**Name:** Scribe", peerdom.Sender{})
		body, err := peerdom.EncodeDelivery(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqs.NewFromConfig(mototest.Config(t)).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return ids
}

// deliveriesIn receives every message of a queue (hiding them for the queue's visibility
// timeout, so none is counted twice) and counts them per delivery id.
func deliveriesIn(t *testing.T, url string) map[string]int {
	t.Helper()
	count := map[string]int{}
	for _, m := range mototest.Receive(t, url, 1000, 3*time.Second) {
		d, err := peerdom.DecodeDeliveryString(aws.ToString(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		count[d.ID]++
	}
	return count
}

// The webhook DLQ: listed with each delivery's id; one redriven by its delivery id, then
// the rest with all; each delivery comes back to the webhook queue exactly once and the
// DLQ ends empty. The journal is the View's, not the user's cache.
func TestWebhookDeadLettersRedrive(t *testing.T) {
	t.Parallel() // a stack of its own
	journalDir := t.TempDir()
	v := openView(t, Options{JournalDir: journalDir})
	ctx := context.Background()
	ids := sendTo(t, v.output(t, operate.OutputWebhookDLQURL), 5)

	letters, err := v.DeadLetters(ctx, Webhooks, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, l := range letters {
		listed = append(listed, l.DeliveryID)
		if l.Body != "" || l.Reason == "" { // no worker log group in moto: the reason says so
			t.Errorf("listed %+v", l)
		}
	}
	if !slices.Equal(listed, ids) {
		t.Errorf("listed %v, want %v in order", listed, ids)
	}
	withBodies, err := v.DeadLetters(ctx, Webhooks, 0, true)
	if err != nil || len(withBodies) != len(ids) {
		t.Fatalf("with bodies: %v %v", withBodies, err)
	}
	for i, l := range withBodies {
		if d, err := peerdom.DecodeDeliveryString(l.Body); err != nil || d.ID != ids[i] {
			t.Errorf("body %d: %q %v", i, l.Body, err)
		}
	}
	one, err := v.DeadLetter(ctx, Webhooks, ids[2])
	if err != nil || one.DeliveryID != ids[2] || !strings.Contains(one.Body, ids[2]) {
		t.Errorf("DeadLetter: %+v %v", one, err)
	}

	res, err := v.Redrive(ctx, Webhooks, []string{ids[2]})
	if err != nil || res.Moved != 1 || res.Method != "one by one" {
		t.Fatalf("redrive one: %+v %v", res, err)
	}
	back := deliveriesIn(t, v.output(t, operate.OutputWebhookQueueURL))
	if len(back) != 1 || back[ids[2]] != 1 {
		t.Errorf("after redriving %s the queue holds %v", ids[2], back)
	}
	res, err = v.Redrive(ctx, Webhooks, nil)
	if err != nil || res.Moved != 4 || res.MoveTaskErr == nil {
		t.Fatalf("redrive all: %+v %v (moto has no move task: one by one)", res, err)
	}
	for id, n := range deliveriesIn(t, v.output(t, operate.OutputWebhookQueueURL)) {
		back[id] += n
	}
	for _, id := range ids {
		if back[id] != 1 {
			t.Errorf("delivery %s came back %d times", id, back[id])
		}
	}
	if len(back) != len(ids) {
		t.Errorf("back in the queue: %v", back)
	}
	if left, err := v.DeadLetters(ctx, Webhooks, 0, false); err != nil || len(left) != 0 {
		t.Errorf("DLQ after redrive: %v %v", left, err)
	}
	if res, err := v.Redrive(ctx, Webhooks, []string{"no-such-id"}); err != nil || res.Moved != 0 {
		t.Errorf("redrive of an unknown id: %+v %v", res, err)
	}
	// Each redrive that moved something is in the stream, as serve records its own.
	var redriven []string
	for _, r := range v.Stream().Records() {
		if r.Kind == observe.KindRedriven {
			redriven = append(redriven, fmt.Sprintf("%s %d %v", r.Redriven.Queue, r.Redriven.Count, r.Redriven.IDs))
		}
	}
	if got := strings.Join(redriven, "; "); got != fmt.Sprintf("webhooks 1 [%s]; webhooks 4 []", ids[2]) {
		t.Errorf("redriven records: %s", got)
	}
}

// The events DLQ: an event a rule could not deliver is listed with its rule, target and
// EventBridge's error; it cannot be redriven (there is no queue to go back to); purge
// empties the queue and says how many it held.
func TestEventDeadLettersAndPurge(t *testing.T) {
	t.Parallel() // a stack of its own
	v := openView(t, Options{})
	ctx := context.Background()
	url := v.output(t, operate.OutputEventDLQURL)
	attr := func(s string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s)}
	}
	for i := range 3 {
		body := fmt.Sprintf(`{"id":"ev-%d","detail-type":"Role Created","source":"peerdom","detail":{"id":"d-%d","text":"x"}}`, i, i)
		if _, err := v.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"RULE_ARN":      attr("arn:aws:events:us-east-1:123456789012:rule/" + v.stack.Name + "-events/OnboardRule"),
				"TARGET_ARN":    attr("arn:aws:lambda:us-east-1:123456789012:function:onboard"),
				"ERROR_CODE":    attr("SDK_CLIENT_ERROR"),
				"ERROR_MESSAGE": attr("Unable to invoke Lambda function"),
			}}); err != nil {
			t.Fatal(err)
		}
	}
	letters, err := v.DeadLetters(ctx, Events, 0, false)
	if err != nil || len(letters) != 3 {
		t.Fatalf("events DLQ: %v %v", letters, err)
	}
	for _, l := range letters {
		if !strings.HasPrefix(l.EventID, "ev-") || l.DetailType != "Role Created" || l.Rule != "OnboardRule" || l.Target != "onboard" ||
			l.Reason != "SDK_CLIENT_ERROR: Unable to invoke Lambda function" {
			t.Errorf("listed %+v", l)
		}
	}
	if _, err := v.Redrive(ctx, Events, nil); !errors.Is(err, ErrNoEventRedrive) {
		t.Errorf("redrive of events: %v", err)
	}
	if _, err := v.DeadLetters(ctx, "chat", 0, false); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
	n, err := v.Purge(ctx, Events)
	if err != nil || n != 3 {
		t.Errorf("purge: %d %v", n, err)
	}
	if left, err := v.DeadLetters(ctx, Events, 0, false); err != nil || len(left) != 0 {
		t.Errorf("after purge: %v %v", left, err)
	}
	if recs := v.Stream().Records(); len(recs) != 1 || recs[0].Kind != observe.KindPurged || *recs[0].Purged != (observe.Purged{Queue: Events, Count: 3}) {
		t.Errorf("records %+v", recs)
	}
}

// A tail whose context ends while it creates its rule and queue still removes both:
// cancelled before it starts, as it starts, and just after.
func TestTailCancelledWhileStartingLeavesNothing(t *testing.T) {
	t.Parallel() // a stack of its own
	first := openView(t, Options{})
	for _, at := range []string{"before", TailStarting, TailRunning} {
		v, err := New(first.cfg, first.stack, Options{}) // a tail state of its own, idle
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if at == "before" {
			cancel()
		}
		done := make(chan error, 1)
		go func() { done <- v.Tail(ctx) }()
		if at != "before" {
			waitTail(t, v, at, func(s TailState) bool { return s.State == at || s.State == TailFailed })
			cancel()
		}
		if err := <-done; err != nil {
			t.Errorf("cancelled %s: %v", at, err)
		}
		if s, _ := v.TailStatus(); s.State != TailStopped || s.Err != "" {
			t.Errorf("cancelled %s: state %+v, want stopped without an error", at, s)
		}
		if left := tapLeft(t, v, ""); len(left) != 0 {
			t.Errorf("cancelled %s: left %v", at, left)
		}
	}
}

// The View's own stream keeps the last MaxRecords records however many events the tail
// brings; its counts go on. StartTail's Stop removes the rule and queue before it returns.
func TestTailStreamBounded(t *testing.T) {
	t.Parallel() // a stack of its own
	v := openView(t, Options{MaxRecords: 5})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := v.StartTail(ctx)
	st := waitTail(t, v, "running", func(s TailState) bool { return s.State == TailRunning || s.State == TailFailed })
	sub := v.Stream().Subscribe(ctx)
	for range 8 {
		putSample(t, v, "group-deleted") // no rule of the test stack takes it: one record each
	}
	var seqs []uint64
	timeout := time.After(60 * time.Second)
	for len(seqs) < 8 {
		select {
		case r := <-sub.C:
			seqs = append(seqs, r.Seq)
		case <-timeout:
			t.Fatalf("got %d of 8 records", len(seqs))
		}
	}
	if err := tail.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := tapLeft(t, v, st.Rule); len(left) != 0 {
		t.Errorf("left after Stop: %v", left)
	}
	select {
	case <-tail.Done():
	default:
		t.Error("Done is open after Stop")
	}
	recs := v.Stream().Records()
	if len(recs) != 5 || recs[0].Seq != 4 || recs[4].Seq != 8 || v.Stream().Counts().EventsPublished != 8 {
		t.Errorf("the stream holds %+v, counted %d published; want records 4 to 8", recs, v.Stream().Counts().EventsPublished)
	}
}

// Redrives pressed at once (several tabs, several rows) move each dead letter back
// exactly once: per delivery id, one copy in the webhook queue, none left behind.
func TestConcurrentRedrivesDeliverOnce(t *testing.T) {
	t.Parallel() // a stack of its own
	v := openView(t, Options{})
	ctx := context.Background()
	for round := range 2 {
		ids := sendTo(t, v.output(t, operate.OutputWebhookDLQURL), 6)
		var wg sync.WaitGroup
		moved := make([]int, 5)
		for i := range moved {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var which []string // all, or one id each
				if i > 0 {
					which = []string{ids[i]}
				}
				res, err := v.Redrive(ctx, Webhooks, which)
				if err != nil {
					t.Errorf("redrive %d: %v", i, err)
				}
				moved[i] = res.Moved
			}()
		}
		wg.Wait()
		total := 0
		for _, n := range moved {
			total += n
		}
		back := deliveriesIn(t, v.output(t, operate.OutputWebhookQueueURL))
		for _, id := range ids {
			if back[id] != 1 {
				t.Errorf("round %d: delivery %s came back %d times", round, id, back[id])
			}
		}
		if len(back) != len(ids) || total != len(ids) {
			t.Errorf("round %d: %d deliveries back, %d moved in all (%v); want %d", round, len(back), total, moved, len(ids))
		}
		if left, err := v.DeadLetters(ctx, Webhooks, 0, false); err != nil || len(left) != 0 {
			t.Errorf("round %d: left %v %v", round, left, err)
		}
	}
}
