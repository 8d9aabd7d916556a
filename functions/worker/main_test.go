package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestWiredFromEnvironment builds the handler as the Lambda does and checks that its
// events reach a rule on the configured bus, with the configured source.
func TestWiredFromEnvironment(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	bus := mototest.Name("worker-main")
	routed := mototest.RouteToQueue(t, bus, `{"source":["acme.peerdom"]}`)

	h, err := newHandler(mototest.Getenv(map[string]string{"EVENT_BUS_NAME": bus, "EVENT_SOURCE": "acme.peerdom"}), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := peerdom.EncodeDelivery(peerdom.NewDelivery("d-main", time.Now(), "Hello from Peerdom!", peerdom.Sender{}))
	resp, err := h.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}, {MessageId: "m2", Body: "{}"}}})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	msgs := mototest.Receive(t, routed, 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("routed: %d messages, want 1", len(msgs))
	}
	var ev struct {
		Source string         `json:"source"`
		Detail peerdom.Detail `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &ev); err != nil || ev.Source != "acme.peerdom" || ev.Detail.ID != "d-main" {
		t.Fatalf("routed event: %s (%v)", aws.ToString(msgs[0].Body), err)
	}
}

func TestDefaultSourceAndMissingBus(t *testing.T) {
	mototest.SetEnv(t)
	h, err := newHandler(mototest.Getenv(map[string]string{"EVENT_BUS_NAME": "b"}), logging.Discard())
	if err != nil || h.Source != peerdom.DefaultSource {
		t.Fatalf("source %q, err %v", h.Source, err)
	}
	if _, err := newHandler(mototest.Getenv(nil), logging.Discard()); err == nil {
		t.Error("no error without EVENT_BUS_NAME")
	}
}
