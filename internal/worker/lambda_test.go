package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/logging"
)

// TestHandleSQSAdaptsLambdaEvents: the records reach Handle with their id, body and
// attributes, and a failed one comes back as a batch item failure named by MessageId.
func TestHandleSQSAdaptsLambdaEvents(t *testing.T) {
	b := membus.New()
	var logs bytes.Buffer
	h := &Handler{Bus: b, Logger: logging.New(&logs, "info")}
	resp, err := h.HandleSQS(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m-ok", ReceiptHandle: "r1", Body: envelope(t, "d-ok", roleText),
			Attributes: map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1764547200123"}},
		{MessageId: "m-bad", ReceiptHandle: "r2", Body: "not an envelope", Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
	}})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-bad" {
		t.Fatalf("resp %+v, err %v; want only m-bad failed", resp, err)
	}
	if len(b.Events()) != 1 || detailOf(t, b.Events()[0]).ID != "d-ok" {
		t.Fatalf("events: %+v", b.Events())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["messageId"] != "m-ok" || first["receiveCount"] != 3.0 {
		t.Errorf("the retried message's line does not carry its receive count: %v", first)
	}
}

func TestHandleSQSAllPublishedIsAnEmptyResponse(t *testing.T) {
	resp, err := (&Handler{Bus: membus.New()}).HandleSQS(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: envelope(t, "d1", roleText)},
	}})
	if err != nil || resp.BatchItemFailures != nil {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
}
