// Package sqsqueue is the port queue.Queue implemented with Amazon SQS over aws-sdk-go-v2:
// Send for ingest, and the consumer side (Receive, Delete, ChangeVisibility) for tests
// and operator commands that read a queue or its dead-letter queue. It only makes the
// SDK calls; what goes in a message is the caller's business (internal/ingest). In
// Lambda, the event source mapping does the receiving: internal/worker's adapter converts
// its events.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/peerbridge/peerbridge/internal/queue"
)

// Client is the part of *sqs.Client that Queue uses.
type Client interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queue is one SQS queue, by URL.
type Queue struct {
	Client Client
	URL    string
	// Wait is how long Receive waits for a message when none is visible (long polling,
	// whole seconds up to 20); 0 answers at once.
	Wait time.Duration
}

var _ queue.Queue = Queue{}

// New returns the queue at url, reached through client.
func New(client Client, url string) Queue { return Queue{Client: client, URL: url} }

// Send puts one message on the queue. A nil error means SQS has stored it. A body above
// the queue's MaximumMessageSize fails with queue.ErrTooLarge (wrapped).
func (q Queue) Send(ctx context.Context, body string) error {
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
		if tooLong(err) {
			return fmt.Errorf("sqs SendMessage to %s: %w (%d bytes): %w", q.URL, queue.ErrTooLarge, len(body), err)
		}
		return fmt.Errorf("sqs SendMessage to %s: %w", q.URL, err)
	}
	return nil
}

// tooLong recognizes SQS's refusal of an oversized body: InvalidParameterValue, "Message
// must be shorter than N bytes".
func tooLong(err error) bool {
	var api interface{ ErrorMessage() string } // smithy.APIError, without importing smithy-go
	return errors.As(err, &api) && strings.Contains(api.ErrorMessage(), "must be shorter than")
}

// Receive takes up to max (at most 10) messages, hidden for visibility (whole seconds, as
// SQS counts; a fraction is rounded up; 0: the queue's VisibilityTimeout).
func (q Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]queue.Message, error) {
	out, err := q.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(q.URL),
		MaxNumberOfMessages: int32(min(max, queue.MaxBatch)),
		VisibilityTimeout:   seconds(visibility),
		WaitTimeSeconds:     seconds(q.Wait),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs ReceiveMessage from %s: %w", q.URL, err)
	}
	msgs := make([]queue.Message, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = queue.Message{
			ID:      aws.ToString(m.MessageId),
			Body:    aws.ToString(m.Body),
			Receipt: aws.ToString(m.ReceiptHandle),
		}
		msgs[i].ReceiveCount, msgs[i].SentAt = queue.SQSAttributes(m.Attributes)
	}
	return msgs, nil
}

// seconds rounds d up to whole seconds, as SQS takes timeouts.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}

// Delete removes a received message.
func (q Queue) Delete(ctx context.Context, receipt string) error {
	if _, err := q.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(receipt)}); err != nil {
		return fmt.Errorf("sqs DeleteMessage on %s: %w", q.URL, err)
	}
	return nil
}

// ChangeVisibility hides a received message for timeout (whole seconds) from now; 0
// makes it visible at once.
func (q Queue) ChangeVisibility(ctx context.Context, receipt string, timeout time.Duration) error {
	if _, err := q.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(receipt), VisibilityTimeout: seconds(timeout),
	}); err != nil {
		return fmt.Errorf("sqs ChangeMessageVisibility on %s: %w", q.URL, err)
	}
	return nil
}
