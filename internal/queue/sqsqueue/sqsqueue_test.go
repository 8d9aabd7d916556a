package sqsqueue

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/queuetest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var queues atomic.Int64 // numbers the queues each test creates in the one moto server

// newQueue creates, in moto, a queue as the template declares it (256 KiB messages, a
// redrive policy to a dead-letter queue after maxReceives receives) and its DLQ.
func newQueue(t *testing.T, maxReceives int) queuetest.Instance {
	t.Helper()
	ctx := context.Background()
	c := sqs.NewFromConfig(mototest.Config(t))
	name := fmt.Sprintf("conformance-%d", queues.Add(1))
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := mototest.QueueARN(ctx, c, aws.ToString(dlq.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	qo, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"MaximumMessageSize": fmt.Sprint(queue.MaxMessageBytes),
		"RedrivePolicy":      fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, arn, maxReceives),
	}})
	if err != nil {
		t.Fatal(err)
	}
	dead := New(c, aws.ToString(dlq.QueueUrl))
	return queuetest.Instance{
		Queue: New(c, aws.ToString(qo.QueueUrl)),
		// Read the DLQ as an operator would: receive, and delete what was read.
		DeadLetters: func(t testing.TB) []queue.Message {
			var out []queue.Message
			for {
				ms, err := dead.Receive(ctx, queue.MaxBatch, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) == 0 {
					return out
				}
				for _, m := range ms {
					if err := dead.Delete(ctx, m.Receipt); err != nil {
						t.Fatal(err)
					}
				}
				out = append(out, ms...)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, newQueue, queuetest.Features{
		Visibility:      time.Second,
		MaxMessageBytes: queue.MaxMessageBytes,
		SendRacesDelete: true, // moto's, not SQS's
	})
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

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int32{0: 0, -time.Second: 0, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %d, want %d", d, got, want)
		}
	}
}
