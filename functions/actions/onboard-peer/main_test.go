package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestWiredFromEnvironment builds the function as Lambda does, the key in an SSM
// SecureString parameter (moto), and runs a Peer Created event as EventBridge delivers it.
func TestWiredFromEnvironment(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-from-the-secret"})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	ps := ssm.NewFromConfig(mototest.Config(t))
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/onboard/peerdom-key"), Value: aws.String(`{"apiKey":"sk-from-the-secret"}`),
		Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r, err := newRunner(ctx, mototest.Getenv(map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY_PARAMETER": "/onboard/peerdom-key",
		"ONBOARDING_ROLE_IDS": role.ID, "IGNORE_AUTHORS": "bot@acme.example"}), &logs)
	if err != nil {
		t.Fatal(err)
	}
	// The key was read once, at the cold start: removing the parameter changes nothing now.
	if _, err := ps.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/onboard/peerdom-key")}); err != nil {
		t.Fatal(err)
	}
	ev, _ := awsaction.ToEventBridge(action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Peer Created", Time: time.Now(),
		Detail: peerdom.Detail{ID: "d-1", Entity: "peer", Action: "created", EntityID: ada.ID}})
	if err := awsaction.EventBridgeHandler(r)(ctx, ev); err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	if got, _ := s.Role(role.ID); !got.HeldBy(ada.ID) {
		t.Fatalf("not assigned: %+v", got.Holders)
	}
	if len(r.IgnoreAuthors) != 1 || strings.Contains(logs.String(), "sk-from-the-secret") ||
		!strings.Contains(logs.String(), `"msg":"ready"`) || !strings.Contains(logs.String(), `"outcome":"done"`) {
		t.Fatalf("ignore authors %v; log:\n%s", r.IgnoreAuthors, logs.String())
	}
	// main's logger, as here: each line names the action once.
	if err := logging.CheckOneKey(logs.Bytes(), "action"); err != nil {
		t.Error(err)
	}
}

func TestConfigurationErrorsNameTheSetting(t *testing.T) {
	mototest.SetEnv(t)
	for name, c := range map[string]struct {
		vars map[string]string
		want string
	}{
		"no key":            {map[string]string{"ONBOARDING_ROLE_IDS": "r"}, "PEERDOM_API_KEY_PARAMETER"},
		"missing parameter": {map[string]string{"PEERDOM_API_KEY_PARAMETER": "/no/such/parameter", "ONBOARDING_ROLE_IDS": "r"}, `"/no/such/parameter"`},
		"no roles":          {map[string]string{"PEERDOM_API_KEY": "k"}, "ONBOARDING_ROLE_IDS"},
		"bad url":           {map[string]string{"PEERDOM_API_KEY": "k", "ONBOARDING_ROLE_IDS": "r", "PEERDOM_API_URL": "api.peerdom.org"}, "not an http(s) URL"},
	} {
		if _, err := newRunner(context.Background(), mototest.Getenv(c.vars), io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %s", name, err, c.want)
		}
	}
}

// TestRepeatedDeliveryIsSkippedThroughDynamoDB wires the function with IDEMPOTENCY_TABLE
// naming a table on moto: a redelivered event (same delivery id, new event id) makes no
// API call at all.
func TestRepeatedDeliveryIsSkippedThroughDynamoDB(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	table := mototest.Name("onboard-idempotency")
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(mototest.Config(t)), table); err != nil {
		t.Fatal(err)
	}
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "k"})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	var logs bytes.Buffer
	r, err := newRunner(ctx, mototest.Getenv(map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "k",
		"ONBOARDING_ROLE_IDS": role.ID, "IDEMPOTENCY_TABLE": table}), &logs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Once == nil {
		t.Fatal("IDEMPOTENCY_TABLE is set but the runner has no effects-once store")
	}
	ev := action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Peer Created", Time: time.Now(),
		Detail: peerdom.Detail{ID: "d-1", Entity: "peer", Action: "created", EntityID: ada.ID}}
	if err := r.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	requests := len(s.Requests())
	ev.ID = "ev-2" // EventBridge's redelivery: a new event id, the same delivery
	if err := r.Run(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Requests()); got != requests || len(s.Writes()) != 1 {
		t.Fatalf("the redelivery made %d API requests (%d writes in all); want none (1)", got-requests, len(s.Writes()))
	}
	if !strings.Contains(logs.String(), `"reason":"already done"`) {
		t.Fatalf("log: %s", logs.String())
	}
}

// newRunner builds the runner as main does, its log lines on w.
func newRunner(ctx context.Context, getenv func(string) string, w io.Writer) (*action.Runner, error) {
	fn := builtin.NewLambda(action.NameOnboardPeer, getenv, w)
	adapters, err := fn.AWS(ctx)
	return fn.Runner(adapters, err, builtin.OnboardPeer)
}
