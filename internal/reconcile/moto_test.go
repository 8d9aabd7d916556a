package reconcile_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestDroppedWebhooksAreFoundOnceOverMoto is the scenario once over the AWS adapters:
// the state in DynamoDB, the events on an EventBridge bus whose rule routes the entity
// events (snapshots aside) to a queue, where each must arrive once.
func TestDroppedWebhooksAreFoundOnceOverMoto(t *testing.T) {
	ctx := context.Background()
	cfg := mototest.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	table := "entity-state-" + time.Now().Format("150405.000000")
	if err := dynamostate.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	busName := "reconcile-" + time.Now().Format("150405000000")
	queue := mototest.RouteToQueue(t, busName, `{"source":["peerdom"]}`)
	b := &recorder{next: eventbridgebus.New(eventbridge.NewFromConfig(cfg), busName)}
	droppedWebhooksScenario(t, 7, dynamostate.New(db, table), b)

	want := len(b.events(t))
	ids := map[string]int{}
	for _, m := range mototest.Receive(t, queue, want, 20*time.Second) {
		var ev struct {
			Detail struct {
				ID string `json:"id"`
			} `json:"detail"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
			t.Fatal(err)
		}
		ids[ev.Detail.ID]++
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	t.Logf("routed %d distinct events of %d put, %d duplicates", len(ids), want, dups)
	if len(ids) != want || dups != 0 {
		t.Errorf("the rule routed %d distinct events (%d duplicates), want each of the %d once", len(ids), dups, want)
	}
}
