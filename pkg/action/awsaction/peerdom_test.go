package awsaction_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func createSecret(t *testing.T, sm *secretsmanager.Client, name, value string) {
	t.Helper()
	if _, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

func TestPeerdomClientReadsTheKeyFromSecretsManager(t *testing.T) {
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-from-the-secret"})
	defer s.Close()
	s.AddRole(peerdomapi.Role{Name: "Scribe"})
	sm := secretsmanager.NewFromConfig(mototest.Config(t))
	createSecret(t, sm, "peerdom/key-json", `{"apiKey":"sk-from-the-secret"}`)
	createSecret(t, sm, "peerdom/key-plain", "sk-from-the-secret")
	createSecret(t, sm, "peerdom/no-key", `{"other":"x"}`)

	for _, id := range []string{"peerdom/key-json", "peerdom/key-plain"} {
		api, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeySecretID: id}, sm)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if roles, err := api.Roles().All(ctx, peerdomapi.Options{}); err != nil || len(roles) != 1 {
			t.Fatalf("%s: the key from the secret does not work: %v, %v", id, roles, err)
		}
	}
	// Without a secret id, the plain key; no Secrets Manager call is made (nil client).
	api, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKey: "sk-from-the-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Roles().All(ctx, peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}

	for id, want := range map[string]string{"no/such/secret": `"no/such/secret"`, "peerdom/no-key": `"apiKey"`} {
		_, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeySecretID: id}, sm)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "sk-from") {
			t.Errorf("%s: err = %v, want it to name %s", id, err, want)
		}
	}
}
