package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// client is a real Secrets Manager client talking to moto.
func client(t *testing.T) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(mototest.Config(t))
}

func TestFetchOverTheWire(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	value := "s3cr3t-value-" + t.Name()
	name := mototest.Name("fetch-string")
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(ctx, c, name)
	if err != nil || got != value {
		t.Fatalf("Fetch = %q, %v; want %q", got, err, value)
	}

	// A rotation is seen by the next Fetch.
	if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String("rotated"),
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := Fetch(ctx, c, name); err != nil || got != "rotated" {
		t.Fatalf("after rotation Fetch = %q, %v", got, err)
	}
}

func TestFetchBinarySecret(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	name := mototest.Name("fetch-binary")
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretBinary: []byte(`["a","b"]`),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(ctx, c, name)
	if err != nil || got != `["a","b"]` {
		t.Fatalf("Fetch = %q, %v", got, err)
	}
}

func TestFetchMissingSecretNamesIDNotValue(t *testing.T) {
	_, err := Fetch(context.Background(), client(t), "no-such-secret")
	if err == nil {
		t.Fatal("Fetch of a missing secret succeeded")
	}
	if !strings.Contains(err.Error(), `"no-such-secret"`) {
		t.Errorf("error should name the secret id: %v", err)
	}
}

func TestFetchNoID(t *testing.T) {
	if _, err := Fetch(context.Background(), fakeClient{}, ""); err == nil {
		t.Fatal("Fetch with no id succeeded")
	}
}

type fakeClient struct {
	out *secretsmanager.GetSecretValueOutput
}

func (f fakeClient) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f.out, nil
}

func TestFetchEmptyValue(t *testing.T) {
	_, err := Fetch(context.Background(), fakeClient{out: &secretsmanager.GetSecretValueOutput{SecretString: aws.String("")}}, "empty")
	if !errors.Is(err, ErrEmpty) {
		t.Fatalf("err = %v, want ErrEmpty", err)
	}
}
