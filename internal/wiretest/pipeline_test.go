package wiretest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
	"github.com/peerbridge/peerbridge/internal/secrets"
	"github.com/peerbridge/peerbridge/internal/worker"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestMain(m *testing.M) { mototest.Main(m) }

const (
	source    = "peerdom.wiretest"
	tokenA    = "wire-token-a-5f1c9e"
	tokenB    = "wire-token-b-07d2aa"
	maxWait   = 15 * time.Second
	logLevel  = "warn"
	batchSize = 10
)

// awsSetup holds the moto resources of the test.
type awsSetup struct {
	sqs                   *sqs.Client
	eb                    *eventbridge.Client
	sm                    *secretsmanager.Client
	webhookQueue, routedQ string
	busName, secretID     string // named anew for each run: moto outlives a -count run
}

func setup(t *testing.T) awsSetup {
	t.Helper()
	ctx := context.Background()
	cfg := mototest.Config(t)
	s := awsSetup{sqs: sqs.NewFromConfig(cfg), eb: eventbridge.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg),
		busName: mototest.Name("peerbridge-wiretest"), secretID: mototest.Name("peerbridge/wiretest/webhook-tokens")}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.secretID),
		SecretString: aws.String(fmt.Sprintf("[%q, %q]", tokenA, tokenB))}))
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(mototest.Name("wiretest-webhooks"))})
	must(q, err)
	s.webhookQueue = aws.ToString(q.QueueUrl)
	s.routedQ = mototest.RouteToQueue(t, s.busName, fmt.Sprintf(`{"source":[%q]}`, source))
	return s
}

// TestCorpusThroughThePipeline sends every corpus case to ingest, hands what ingest
// queued to the worker as the SQS event source would (batches of up to 10), and reads
// the events a bus rule routed to a queue: each must be the contract's event.
func TestCorpusThroughThePipeline(t *testing.T) {
	ctx := context.Background()
	s := setup(t)
	cases := corpus.Load(t)
	log := logging.New(os.Stderr, logLevel)

	// Wired as functions/ingest and functions/worker do it.
	in := &ingest.Handler{
		Tokens: &ingest.TokenLoader{Load: func(ctx context.Context) ([]string, error) {
			v, err := secrets.Fetch(ctx, s.sm, s.secretID)
			if err != nil {
				return nil, err
			}
			return ingest.ParseSecretTokens(v)
		}},
		Queue:  sqsqueue.New(s.sqs, s.webhookQueue),
		Source: source,
		Now:    time.Now,
		Logger: log,
	}
	work := &worker.Handler{Bus: eventbridgebus.New(s.eb, s.busName), Source: source, Logger: log}

	// 1. Ingest: every case, alternating the two configured tokens.
	sentAt := map[string]time.Time{} // delivery id → when it was posted
	byID := map[string]corpus.Case{}
	for i, c := range cases {
		req := events.APIGatewayV2HTTPRequest{Body: string(c.Body), PathParameters: map[string]string{"token": []string{tokenA, tokenB}[i%2]}}
		req.RequestContext.HTTP.Method = "POST"
		req.RequestContext.RequestID = fmt.Sprintf("wire-%02d", i)
		req.RequestContext.HTTP.SourceIP = "198.51.100.7"
		sentAt[req.RequestContext.RequestID] = time.Now()
		resp, err := in.HandleAPIGateway(ctx, req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: ingest answered %d %s (%v)", c.Name, resp.StatusCode, resp.Body, err)
		}
		var got struct{ ID string }
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || got.ID != req.RequestContext.RequestID {
			t.Fatalf("%s: ingest body %s", c.Name, resp.Body)
		}
		byID[got.ID] = c
	}

	// 2. Worker: what ingest queued, in SQS event batches, deleting what succeeded.
	queued := mototest.Receive(t, s.webhookQueue, len(cases), maxWait)
	if len(queued) != len(cases) {
		t.Fatalf("%d messages queued for %d webhooks", len(queued), len(cases))
	}
	for start := 0; start < len(queued); start += batchSize {
		batch := queued[start:min(start+batchSize, len(queued))]
		ev := events.SQSEvent{}
		for _, m := range batch {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs"})
		}
		resp, err := work.HandleSQS(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("worker: failures %+v, err %v", resp.BatchItemFailures, err)
		}
		for _, m := range batch {
			if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.webhookQueue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// 3. The routed events, checked against the contract.
	routed := mototest.Receive(t, s.routedQ, len(cases), maxWait)
	if len(routed) != len(cases) {
		t.Fatalf("%d events routed for %d webhooks", len(routed), len(cases))
	}
	seen := map[string]bool{}
	for _, m := range routed {
		var ev struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
			t.Fatalf("routed message is not an event: %v", err)
		}
		var stamp struct {
			ID         string    `json:"id"`
			ReceivedAt time.Time `json:"receivedAt"`
		}
		if err := json.Unmarshal(ev.Detail, &stamp); err != nil {
			t.Fatalf("detail stamp: %v", err)
		}
		c, ok := byID[stamp.ID]
		if !ok || seen[stamp.ID] {
			t.Errorf("event with unknown or repeated delivery id %q", stamp.ID)
			continue
		}
		seen[stamp.ID] = true
		t.Run(c.Name, func(t *testing.T) {
			if ev.Source != source || ev.DetailType != c.DetailType {
				t.Errorf("source %q detail-type %q, want %q %q", ev.Source, ev.DetailType, source, c.DetailType)
			}
			if d := stamp.ReceivedAt.Sub(sentAt[stamp.ID]); d < -time.Second || d > 5*time.Second {
				t.Errorf("receivedAt %v is not when it was posted (%v)", stamp.ReceivedAt, sentAt[stamp.ID])
			}
			c.Check(t, ev.Detail)
		})
	}
}

// TestWorkerRedriveOverTheWire runs the worker behind the queue as the event source
// mapping does (queue.Poll over internal/queue/sqsqueue, each batch handed to HandleSQS
// as an SQS event), on a moto queue whose redrive policy dead-letters after two
// receives: the good delivery is published and deleted, the message that is no envelope
// is retried and ends in the dead-letter queue, and nothing is left.
func TestWorkerRedriveOverTheWire(t *testing.T) {
	ctx := context.Background()
	const maxReceives = 2
	cfg := mototest.Config(t)
	sq := sqs.NewFromConfig(cfg)
	dlqOut, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(mototest.Name("wiretest-redrive-dlq"))})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN, err := mototest.QueueARN(ctx, sq, aws.ToString(dlqOut.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	qOut, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(mototest.Name("wiretest-redrive")), Attributes: map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlqARN, maxReceives),
	}})
	if err != nil {
		t.Fatal(err)
	}
	q, dlq := sqsqueue.New(sq, aws.ToString(qOut.QueueUrl)), sqsqueue.New(sq, aws.ToString(dlqOut.QueueUrl))
	redriveBus := mototest.Name("wiretest-redrive-bus")
	routed := mototest.RouteToQueue(t, redriveBus, fmt.Sprintf(`{"source":[%q]}`, source))
	work := &worker.Handler{Bus: eventbridgebus.New(eventbridge.NewFromConfig(cfg), redriveBus), Source: source, Logger: logging.Discard()}

	good, err := peerdom.EncodeDelivery(peerdom.NewDelivery("d-redrive", time.Now(), "Hello from Peerdom!", peerdom.Sender{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{good, "not an envelope"} {
		if err := q.Send(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	// What the event source mapping hands the function: the messages as SQS records.
	asLambda := func(ctx context.Context, batch []queue.Message) ([]string, error) {
		ev := events.SQSEvent{}
		for _, m := range batch {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: m.ID, ReceiptHandle: m.Receipt, Body: m.Body, EventSource: "aws:sqs",
				Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.ReceiveCount), "SentTimestamp": fmt.Sprint(m.SentAt.UnixMilli())}})
		}
		resp, err := work.HandleSQS(ctx, ev)
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed, err
	}
	handled := 0
	for range 2 * (maxReceives + 1) { // enough polls for every retry and the redrive
		n, err := queue.Poll(ctx, q, queue.MaxBatch, time.Minute, asLambda)
		if err != nil {
			t.Fatal(err)
		}
		handled += n
	}
	if handled != 1+maxReceives {
		t.Errorf("the worker got %d messages, want the good one once and the bad one %d times", handled, maxReceives)
	}
	dead, err := dlq.Receive(ctx, queue.MaxBatch, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Body != "not an envelope" {
		t.Errorf("dead-letter queue: %+v, want the message that is no envelope", dead)
	}
	if left, err := q.Receive(ctx, queue.MaxBatch, time.Minute); err != nil || len(left) != 0 {
		t.Errorf("left on the queue: %+v (%v)", left, err)
	}
	if got := mototest.Receive(t, routed, 1, maxWait); len(got) != 1 || !strings.Contains(aws.ToString(got[0].Body), "d-redrive") {
		t.Errorf("routed %d events, want the good delivery's", len(got))
	}
}
