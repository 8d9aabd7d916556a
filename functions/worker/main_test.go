package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/ingest"
	"github.com/peerbridge/peerbridge/pkg/logging"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mototest.Stop()
	os.Exit(code)
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestWiredFromEnvironment builds the handler as the Lambda does and checks that its
// events reach a rule on the configured bus, with the configured source.
func TestWiredFromEnvironment(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	cfg := mototest.Config(t)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("worker-main")}); err != nil {
		t.Fatal(err)
	}
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("worker-main-routed")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qo.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("mine"), EventBusName: aws.String("worker-main"), EventPattern: aws.String(`{"source":["acme.peerdom"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("mine"), EventBusName: aws.String("worker-main"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	h, err := newHandler(ctx, env(map[string]string{"EVENT_BUS_NAME": "worker-main", "EVENT_SOURCE": "acme.peerdom"}), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := ingest.EncodeDelivery(peerdom.NewDelivery("d-main", time.Now(), "Hello from Peerdom!", peerdom.Sender{}))
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}, {MessageId: "m2", Body: "{}"}}})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qo.QueueUrl, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("routed: %+v, %v", out, err)
	}
	var ev struct {
		Source string         `json:"source"`
		Detail peerdom.Detail `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &ev); err != nil || ev.Source != "acme.peerdom" || ev.Detail.ID != "d-main" {
		t.Fatalf("routed event: %s (%v)", aws.ToString(out.Messages[0].Body), err)
	}
}

func TestDefaultSourceAndMissingBus(t *testing.T) {
	mototest.SetEnv(t)
	h, err := newHandler(context.Background(), env(map[string]string{"EVENT_BUS_NAME": "b"}), logging.Discard())
	if err != nil || h.Source != peerdom.DefaultSource {
		t.Fatalf("source %q, err %v", h.Source, err)
	}
	if _, err := newHandler(context.Background(), env(nil), logging.Discard()); err == nil {
		t.Error("no error without EVENT_BUS_NAME")
	}
}
