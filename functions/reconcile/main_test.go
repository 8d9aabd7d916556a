package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func TestConfigurationErrors(t *testing.T) {
	if _, err := newReconciler(context.Background(), mototest.Getenv(map[string]string{"PEERDOM_API_KEY": "k", "EVENT_BUS_NAME": ""})); err == nil ||
		!strings.Contains(err.Error(), "EVENT_BUS_NAME") {
		t.Errorf("no bus: %v", err)
	}
}

// TestRunsOverDynamoDBAndEventBridge builds the function as Lambda does, with its tables
// on moto: the first run is the baseline, the second publishes the peer no webhook
// reported, to the bus, and the log says which.
func TestRunsOverDynamoDBAndEventBridge(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	suffix := mototest.Name("run")
	busName := "reconcile-fn-" + suffix
	routed := mototest.RouteToQueue(t, busName, `{"source":["peerdom"]}`)
	db := dynamodb.NewFromConfig(mototest.Config(t))
	stateTable, leaseTable := "state-"+suffix, "leases-"+suffix
	if err := dynamostate.CreateTable(ctx, db, stateTable); err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.CreateTable(ctx, db, leaseTable); err != nil {
		t.Fatal(err)
	}
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	s.AddRole(peerdomapi.Role{Name: "Scribe"})
	r, err := newReconciler(ctx, mototest.Getenv(map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": s.Config().APIKey,
		"EVENT_BUS_NAME": busName, "EVENT_SOURCE": "peerdom", "STATE_TABLE": stateTable, "IDEMPOTENCY_TABLE": leaseTable}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var metrics bytes.Buffer
	h := reconcile.Lambda{Reconciler: r, Logger: logging.New(&logs, "info"), Metrics: &metrics}.Handle
	if rep, err := h(ctx, json.RawMessage(`{}`)); err != nil || !rep.Baseline {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	peer := s.AddPeer(peerdomapi.Peer{FirstName: "Grace", LastName: "Hopper"})
	rep, err := h(ctx, json.RawMessage(`{}`))
	if err != nil || rep.Published != 1 {
		t.Fatalf("second run: %+v, %v\n%s", rep, err, logs.String())
	}
	msgs := mototest.Receive(t, routed, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("routed %d events, want 1", len(msgs))
	}
	var ev struct {
		DetailType string `json:"detail-type"`
		Detail     struct{ Origin, EntityID string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &ev); err != nil || ev.DetailType != "Peer Created" ||
		ev.Detail.Origin != "reconcile" || ev.Detail.EntityID != peer.ID {
		t.Fatalf("routed %s (%v)", aws.ToString(msgs[0].Body), err)
	}
	// The baseline found no difference: one metric line, the second run's.
	if lines := strings.Split(strings.TrimSpace(metrics.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"ReconcileDifferences":1`) {
		t.Errorf("metric lines:\n%s", metrics.String())
	}
	for _, want := range []string{"first reconciliation: state recorded as the baseline", `"msg":"reconciled"`, `"differences":1`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	// The state is in the table: a third run finds nothing.
	metrics.Reset()
	if rep, err := h(ctx, json.RawMessage(`{}`)); err != nil || rep.Differences != 0 {
		t.Errorf("third run: %+v, %v", rep, err)
	}
	if metrics.Len() != 0 {
		t.Errorf("a run without differences wrote a metric line: %s", metrics.String())
	}
}
