package mototest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Main runs a package's tests and then stops the moto server: TestMain(m) { mototest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// RouteToQueue makes an event bus on moto with one rule that sends the events matching
// pattern to a new SQS queue, as a user's rule would, and returns the queue's URL. Tests
// read what EventBridge routed with Receive, so they check the events that really match.
func RouteToQueue(tb testing.TB, busName, pattern string) string {
	tb.Helper()
	eb := eventbridge.NewFromConfig(Config(tb))
	if _, err := eb.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String(busName)}); err != nil {
		tb.Fatalf("create bus %s: %v", busName, err)
	}
	return RuleToQueue(tb, busName, "routed", pattern)
}

// RuleToQueue adds to the existing bus busName a rule that sends the events matching
// pattern to a new SQS queue (named after the bus and the rule), and returns the queue's
// URL.
func RuleToQueue(tb testing.TB, busName, rule, pattern string) string {
	tb.Helper()
	ctx := context.Background()
	cfg := Config(tb)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(busName + "-" + rule)})
	if err != nil {
		tb.Fatalf("create queue: %v", err)
	}
	arn, err := QueueARN(ctx, q, aws.ToString(qo.QueueUrl))
	if err != nil {
		tb.Fatalf("queue arn: %v", err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(busName),
		EventPattern: aws.String(pattern)}); err != nil {
		tb.Fatalf("put rule %s: %v", pattern, err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(busName),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(arn)}}}); err != nil {
		tb.Fatalf("put targets: %v", err)
	}
	return aws.ToString(qo.QueueUrl)
}

// Receive reads messages from a moto queue until want arrived or maxWait passed, and
// returns them (with their system attributes); the caller checks the count.
func Receive(tb testing.TB, queueURL string, want int, maxWait time.Duration) []sqstypes.Message {
	tb.Helper()
	q := sqs.NewFromConfig(Config(tb))
	var out []sqstypes.Message
	deadline := time.Now().Add(maxWait)
	for len(out) < want && time.Now().Before(deadline) {
		r, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			tb.Fatalf("receive: %v", err)
		}
		out = append(out, r.Messages...)
	}
	return out
}

// QueueARN is the ARN of the queue at url, as a redrive policy or a rule target names it.
func QueueARN(ctx context.Context, c *sqs.Client, url string) (string, error) {
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	return attrs.Attributes["QueueArn"], nil
}
