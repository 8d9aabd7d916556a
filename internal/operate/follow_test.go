package operate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

// Follow hands each message to handle; a failed receive goes to retry
// with the count of failures in a row, which a receive that works resets; when retry
// says no, Follow returns the error. The failures are made by deleting the tap's queue
// (and creating it again, at the same URL, to recover).
func TestFollowRetriesAndResetsItsCount(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	cfg := mototest.Config(t)
	sq, eb := sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	ctx := context.Background()
	tap, err := OpenTap(ctx, sq, eb, s.Outputs[OutputEventBusName], s.Name, `{"source":["peerdom"]}`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close(ctx)
	send := func(body string) {
		t.Helper()
		if _, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(tap.QueueURL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	recreate := func() {
		t.Helper()
		q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(tap.Rule)})
		if err != nil || aws.ToString(q.QueueUrl) != tap.QueueURL {
			t.Fatalf("create the queue again: %v %v", q, err)
		}
	}
	remove := func() {
		t.Helper()
		if _, err := sq.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(tap.QueueURL)}); err != nil {
			t.Fatal(err)
		}
	}

	var got, failures []string
	send("one")
	err = tap.Follow(ctx, func(body string) {
		got = append(got, body)
		switch body {
		case "one":
			remove() // the next receives fail: retry recovers on the second
		case "two":
			remove() // fail again: counted from 1, and given up on the first
		}
	}, nil, func(err error, n int) bool {
		failures = append(failures, fmt.Sprint(n))
		if len(got) == 1 && n == 2 {
			recreate()
			send("two")
		}
		return len(got) == 1
	})
	if err == nil {
		t.Fatal("Follow returned nil; want the last receive's error")
	}
	if fmt.Sprint(got) != "[one two]" || fmt.Sprint(failures) != "[1 2 1]" {
		t.Errorf("handled %v, failures in a row %v; want [one two] and [1 2 1]", got, failures)
	}
	recreate() // for Close
}
