package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/worker"
)

// handleSQS stands in for (*worker.Handler).HandleSQS, the worker's Lambda adapter that
// the ports branch adds. At the merge: delete this file, call lambda.Start(h.HandleSQS)
// in main and h.HandleSQS in main_test.go.
func handleSQS(h *worker.Handler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return h.Handle
}
