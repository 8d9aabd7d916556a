package localaws

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
)

// The functions' own adapters, through the real SDK clients (signing, serialization,
// SQS's MD5 check), reach the in-memory queue and bus.
func TestTheFunctionsAdaptersReachTheLocalQueueAndBus(t *testing.T) {
	q := memqueue.New()
	b := membus.New()
	const queueURL = "http://127.0.0.1:3002/000000000000/peerbridge-webhooks"
	srv := httptest.NewServer(&Handler{
		Queues: map[string]queue.Sender{queueURL: q},
		Buses:  map[string]bus.Putter{"peerbridge-events": b},
	})
	defer srv.Close()
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": "local", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
	cfg, err := awsconfig.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if err := sqsqueue.New(sqs.NewFromConfig(cfg), queueURL).Send(ctx, `{"text":"é <b>"}`); err != nil {
		t.Fatal(err)
	}
	if got := q.Visible(); len(got) != 1 || got[0].Body != `{"text":"é <b>"}` {
		t.Errorf("queued %v", got)
	}
	err = sqsqueue.New(sqs.NewFromConfig(cfg), "http://127.0.0.1:3002/000000000000/other").Send(ctx, "x")
	if err == nil || !strings.Contains(err.Error(), "QUEUE_URL="+queueURL) {
		t.Errorf("an unknown queue: %v, want an error naming the local queue", err)
	}

	put := eventbridgebus.New(eventbridge.NewFromConfig(cfg), "peerbridge-events")
	res, err := put.PutEvents(ctx, []bus.Entry{
		{Source: "peerdom", DetailType: "Role Created", Detail: `{"id":"1"}`},
		{Source: "peerdom", DetailType: "", Detail: `{"id":"2"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err() != nil || res[0].EventID == "" || res[1].Err() == nil {
		t.Errorf("results %+v, want the first accepted and the second refused", res)
	}
	if evs := b.Events(); len(evs) != 1 || evs[0].Entry.DetailType != "Role Created" || evs[0].Entry.Detail != `{"id":"1"}` {
		t.Errorf("bus holds %+v", evs)
	}
	if _, err := eventbridgebus.New(eventbridge.NewFromConfig(cfg), "nope").PutEvents(ctx, []bus.Entry{{Source: "s", DetailType: "d", Detail: "{}"}}); err == nil ||
		!strings.Contains(err.Error(), "EVENT_BUS_NAME=peerbridge-events") {
		t.Errorf("an unknown bus: %v, want an error naming the local bus", err)
	}
}
