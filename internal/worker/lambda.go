package worker

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/queue"
)

// HandleSQS is Handle as the Lambda handler of an SQS event source mapping with
// ReportBatchItemFailures (template.yaml's FunctionResponseTypes): the records become
// queue.Messages (MessageId, ReceiptHandle, Body, and the ApproximateReceiveCount and
// SentTimestamp attributes), and the failed ids the partial batch response.
func (h *Handler) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	batch := make([]queue.Message, len(ev.Records))
	for i, r := range ev.Records {
		batch[i] = queue.Message{ID: r.MessageId, Body: r.Body, Receipt: r.ReceiptHandle}
		batch[i].ReceiveCount, batch[i].SentAt = queue.SQSAttributes(r.Attributes)
	}
	failed, err := h.Handle(ctx, batch)
	var resp events.SQSEventResponse
	for _, id := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp, err
}
