package awsaction_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func deps(t *testing.T, env map[string]string, log *bytes.Buffer) awsaction.Deps {
	cfg := mototest.Config(t)
	return awsaction.Deps{
		Getenv:  func(k string) string { return env[k] },
		LoadAWS: func(context.Context) (aws.Config, error) { return cfg, nil },
		Log:     log,
	}
}

func createSecret(t *testing.T, name, value string) *secretsmanager.Client {
	t.Helper()
	sm := secretsmanager.NewFromConfig(mototest.Config(t))
	if _, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
	return sm
}

func peerCreated(t *testing.T, peerID string) events.EventBridgeEvent {
	eb, err := action.Event{ID: peerdom.NewDeliveryID(), Source: "peerdom", DetailType: "Peer Created", Time: time.Now(),
		Detail: peerdom.Detail{ID: peerdom.NewDeliveryID(), Entity: "peer", Action: "created", EntityID: peerID}}.EventBridge()
	if err != nil {
		t.Fatal(err)
	}
	return eb
}

func TestOnboardPeerWithKeyFromSecretsManager(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-from-the-secret"})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	sm := createSecret(t, "onboard/peerdom-key", `{"apiKey":"sk-from-the-secret"}`)
	var log bytes.Buffer
	env := map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY_SECRET_ID": "onboard/peerdom-key",
		"ONBOARDING_ROLE_IDS": role.ID, "IGNORE_AUTHORS": "bot@acme.example", "LOG_LEVEL": "debug"}
	r, err := awsaction.NewRunner(context.Background(), "onboard-peer", deps(t, env, &log), awsaction.OnboardPeer)
	if err != nil {
		t.Fatal(err)
	}
	// The key was read once, at the cold start: removing the secret changes nothing now.
	if _, err := sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String("onboard/peerdom-key"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Lambda(context.Background(), peerCreated(t, ada.ID)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Role(role.ID)
	if !got.HeldBy(ada.ID) {
		t.Fatalf("not assigned: %+v", got.Holders)
	}
	if strings.Contains(log.String(), "sk-from-the-secret") {
		t.Fatalf("the key was logged: %s", log.String())
	}
	if !strings.Contains(log.String(), `"msg":"ready"`) || !strings.Contains(log.String(), `"outcome":"done"`) {
		t.Fatalf("log: %s", log.String())
	}
	if len(r.IgnoreAuthors) != 1 {
		t.Fatalf("IGNORE_AUTHORS not applied: %v", r.IgnoreAuthors)
	}
}

func TestColdStartErrorsAreClear(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	createSecret(t, "blank/peerdom-key", `{"other":"x"}`)
	cases := []struct {
		name  string
		build awsaction.Build
		env   map[string]string
		want  string
	}{
		{"no key", awsaction.OnboardPeer, map[string]string{"ONBOARDING_ROLE_IDS": "r"}, "PEERDOM_API_KEY_SECRET_ID"},
		{"missing secret", awsaction.OnboardPeer, map[string]string{"PEERDOM_API_KEY_SECRET_ID": "no/such/secret", "ONBOARDING_ROLE_IDS": "r"}, `"no/such/secret"`},
		{"secret without apiKey", awsaction.OnboardPeer, map[string]string{"PEERDOM_API_KEY_SECRET_ID": "blank/peerdom-key", "ONBOARDING_ROLE_IDS": "r"}, `"apiKey"`},
		{"no roles", awsaction.OnboardPeer, map[string]string{"PEERDOM_API_KEY": "k"}, "ONBOARDING_ROLE_IDS"},
		{"bad defaults", awsaction.RoleDefaults, map[string]string{"PEERDOM_API_KEY": "k", "ROLE_DEFAULTS": "Purpose=x"}, "ROLE_DEFAULTS"},
		{"no bus", awsaction.Enrich, map[string]string{"PEERDOM_API_KEY": "k"}, "EVENT_BUS_NAME"},
		{"bad url", awsaction.Enrich, map[string]string{"PEERDOM_API_KEY": "k", "PEERDOM_API_URL": "api.peerdom.org"}, "not an http(s) URL"},
	}
	for _, c := range cases {
		var log bytes.Buffer
		_, err := awsaction.NewRunner(context.Background(), "x", deps(t, c.env, &log), c.build)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %s", c.name, err, c.want)
		}
	}
}

func TestEnrichPublishesToEventBridge(t *testing.T) {
	ctx := context.Background()
	const busName = "enrich-wire-bus"
	routedURL := mototest.RouteToQueue(t, busName, `{"source":["peerdom-enrich"],"detail-type":["Role Snapshot"]}`)

	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Scribe", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Notes"}}}})
	env := map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": s.Config().APIKey, "EVENT_BUS_NAME": busName, "EVENT_SOURCE": "peerdom-enrich"}
	var log bytes.Buffer
	r, err := awsaction.NewRunner(ctx, "enrich", deps(t, env, &log), awsaction.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Role Created",
		Detail: peerdom.Detail{ID: "delivery-42", Entity: "role", Action: "created", EntityID: role.ID}}.EventBridge()
	if err := r.Lambda(ctx, ev); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
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
	var obj peerdomapi.Role
	if err := json.Unmarshal(routed.Detail.Object, &obj); err != nil || obj.Name != "Scribe" || len(obj.CustomFields) != 1 {
		t.Fatalf("object = %s (%v)", routed.Detail.Object, err)
	}
}
