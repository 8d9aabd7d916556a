// Package awssqs sends messages to an Amazon SQS queue with aws-sdk-go-v2. It only makes
// the SDK call; what goes in a message is the caller's business (internal/ingest).
package sqsqueue

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Client is the part of *sqs.Client that Queue uses.
type Client interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue is one SQS queue, by URL.
type Queue struct {
	Client Client
	URL    string
}

// New returns the queue at url, reached through client.
func New(client Client, url string) Queue { return Queue{Client: client, URL: url} }

// Send puts one message on the queue. A nil error means SQS has stored it.
func (q Queue) Send(ctx context.Context, body string) error {
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
		return fmt.Errorf("sqs SendMessage to %s: %w", q.URL, err)
	}
	return nil
}
