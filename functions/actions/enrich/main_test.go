package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestPublishesSnapshotsToEventBridge builds the function as Lambda does and checks that
// its snapshot reaches a rule on the configured bus (moto).
func TestPublishesSnapshotsToEventBridge(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	busName := mototest.Name("enrich-wire-bus")
	routedURL := mototest.RouteToQueue(t, busName, `{"source":["peerdom-enrich"],"detail-type":["Role Snapshot"]}`)
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Scribe", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Notes"}}}})
	var logs bytes.Buffer
	r, err := newRunner(ctx, mototest.Getenv(map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": s.Config().APIKey,
		"EVENT_BUS_NAME": busName, "EVENT_SOURCE": "peerdom-enrich"}), &logs)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := awsaction.ToEventBridge(action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Role Created", Time: time.Now(),
		Detail: peerdom.Detail{ID: "delivery-42", Entity: "role", Action: "created", EntityID: role.ID}})
	if err := awsaction.EventBridgeHandler(r)(ctx, ev); err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	var routed struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     action.Snapshot `json:"detail"`
	}
	for _, m := range mototest.Receive(t, routedURL, 1, 10*time.Second) {
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &routed); err != nil {
			t.Fatal(err)
		}
	}
	if routed.Source != "peerdom-enrich" || routed.DetailType != "Role Snapshot" || routed.Detail.CausedBy != "delivery-42" || routed.Detail.EntityID != role.ID {
		t.Fatalf("routed = %+v", routed)
	}
	// main's logger, as here: each line (ready, the event's outcome) names the action once.
	if err := logging.CheckOneKey(logs.Bytes(), "action"); err != nil || !strings.Contains(logs.String(), `"outcome":"done"`) {
		t.Errorf("%v\n%s", err, logs.String())
	}
}

func TestConfigurationErrorsNameTheSetting(t *testing.T) {
	mototest.SetEnv(t)
	for name, c := range map[string]struct {
		vars map[string]string
		want string
	}{
		"no key": {map[string]string{"EVENT_BUS_NAME": "b"}, "PEERDOM_API_KEY_PARAMETER"},
		"no bus": {map[string]string{"PEERDOM_API_KEY": "k"}, "EVENT_BUS_NAME"},
	} {
		if _, err := newRunner(context.Background(), mototest.Getenv(c.vars), io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %s", name, err, c.want)
		}
	}
}

// newRunner builds the runner as main does, its log lines on w.
func newRunner(ctx context.Context, getenv func(string) string, w io.Writer) (*action.Runner, error) {
	fn := builtin.NewLambda(action.NameEnrich, getenv, w)
	adapters, err := fn.AWS(ctx)
	adapters.Bus, adapters.State = snapshots(fn), fn.State(getenv("STATE_TABLE"))
	return fn.Runner(adapters, err, builtin.Enrich)
}
