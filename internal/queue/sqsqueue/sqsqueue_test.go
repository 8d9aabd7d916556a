package sqsqueue

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func TestSendOverTheWire(t *testing.T) {
	ctx := context.Background()
	c := sqs.NewFromConfig(mototest.Config(t))
	qo, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("awssqs-send")})
	if err != nil {
		t.Fatal(err)
	}
	q := New(c, aws.ToString(qo.QueueUrl))
	body := `{"version":1,"text":"é → ü"}`
	if err := q.Send(ctx, body); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qo.QueueUrl, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != body {
		t.Fatalf("received %+v, want the sent body", out.Messages)
	}
}

func TestSendToMissingQueueFails(t *testing.T) {
	c := sqs.NewFromConfig(mototest.Config(t))
	url := mototest.Endpoint(t) + "/123456789012/no-such-queue"
	err := New(c, url).Send(context.Background(), "x")
	if err == nil {
		t.Fatal("sending to a missing queue succeeded")
	}
	if !strings.Contains(err.Error(), "no-such-queue") {
		t.Errorf("error should name the queue: %v", err)
	}
}
