package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/repo"
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

// TestHandleSQSAsTheLambdaRuntimeCallsIt invokes HandleSQS through aws-lambda-go's
// handler, as lambda.Start in functions/worker does, with the repository's sample SQS
// event: the runtime accepts its signature, and the JSON answer is the partial batch
// response naming only the bad envelope.
func TestHandleSQSAsTheLambdaRuntimeCallsIt(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join(root, "events", "worker", "batch-with-bad-envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) != 2 {
		t.Fatalf("sample event: %v (%d records)", err, len(ev.Records))
	}
	b := membus.New()
	out, err := lambda.NewHandler((&Handler{Bus: b}).HandleSQS).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[1].MessageId || len(b.Events()) != 1 {
		t.Errorf("answer %s with %d events; want the second record failed and the first published", out, len(b.Events()))
	}
}
