package awsaction_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/uuid"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// createSecret creates a secret named base plus a suffix of its own, and returns the
// name: moto lives as long as the test process, so a fixed name would exist already when
// the test runs again (-count).
func createSecret(t *testing.T, sm *secretsmanager.Client, base, value string) string {
	t.Helper()
	name := base + "-" + uuid.New()
	if _, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestPeerdomClientReadsTheKeyFromSecretsManager(t *testing.T) {
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-from-the-secret"})
	defer s.Close()
	s.AddRole(peerdomapi.Role{Name: "Scribe"})
	sm := secretsmanager.NewFromConfig(mototest.Config(t))
	keyJSON := createSecret(t, sm, "peerdom/key-json", `{"apiKey":"sk-from-the-secret"}`)
	keyPlain := createSecret(t, sm, "peerdom/key-plain", "sk-from-the-secret")
	noKey := createSecret(t, sm, "peerdom/no-key", `{"other":"x"}`)

	for _, id := range []string{keyJSON, keyPlain} {
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

	for id, want := range map[string]string{"no/such/secret": `"no/such/secret"`, noKey: `"apiKey"`} {
		_, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeySecretID: id}, sm)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "sk-from") {
			t.Errorf("%s: err = %v, want it to name %s", id, err, want)
		}
	}
}

// TestWarmClientPicksUpARotatedKey: the key is rotated (a new value in the secret, the
// old key refused by Peerdom) while the container is warm. The next call is answered 401,
// the client reads the secret again and repeats the call with the new key, once; when the
// secret holds a refused key too, the call fails saying so.
func TestWarmClientPicksUpARotatedKey(t *testing.T) {
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-new-key"})
	defer s.Close()
	sm := secretsmanager.NewFromConfig(mototest.Config(t))
	rotating := createSecret(t, sm, "peerdom/rotating", "sk-old-key")
	s.AddKey("sk-old-key", peerdomtest.User{Name: "Bot", Email: "bot@acme.example"})
	api, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeySecretID: rotating}, sm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Maps().All(ctx, peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}
	// Rotation: the secret gets the new key; the old one stops working.
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(rotating), SecretString: aws.String("sk-new-key")}); err != nil {
		t.Fatal(err)
	}
	s.RevokeKey("sk-old-key")
	if _, err := api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Rotated"}); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if w := s.Writes(); len(w) != 1 {
		t.Errorf("writes %+v, want the one create", w)
	}
	// A secret holding a key Peerdom refuses: one re-read, one repeat, then a clear error.
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(rotating), SecretString: aws.String("sk-wrong-key")}); err != nil {
		t.Fatal(err)
	}
	s.RevokeKey("sk-new-key")
	before := len(s.Requests())
	_, err = api.Maps().All(ctx, peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrUnauthorized) || !strings.Contains(err.Error(), "refused again") || strings.Contains(err.Error(), "sk-") {
		t.Errorf("err = %v, want ErrUnauthorized saying the re-read key is refused too, quoting no key", err)
	}
	if n := len(s.Requests()) - before; n != 2 {
		t.Errorf("%d requests, want 2 (the refused key, then the re-read one)", n)
	}
}
