package awsconfig_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
)

// call is one request a fake AWS endpoint received.
type call struct {
	endpoint, target, auth, token string
}

// fakeAWS answers every JSON-protocol call with an empty success and records it.
type fakeAWS struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeAWS) start(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, call{endpoint: name, target: r.Header.Get("X-Amz-Target"), auth: r.Header.Get("Authorization"), token: r.Header.Get("X-Amz-Security-Token")})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "GetSecretValue") {
			w.Write([]byte(`{"SecretString":"value"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

// callAll makes one call to each of the three services peerbridge uses.
func callAll(t *testing.T, cfg aws.Config) []error {
	t.Helper()
	ctx := context.Background()
	_, e1 := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.example/1/q"), MessageBody: aws.String("m")})
	_, e2 := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String("{}")}}})
	_, e3 := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	return []error{e1, e2, e3}
}

func TestEndpointsRegionAndCredentialsFromTheEnvironment(t *testing.T) {
	f := &fakeAWS{}
	global, sqsOnly := f.start(t, "global"), f.start(t, "sqs-only")
	cfg, err := awsconfig.FromEnv(env(map[string]string{
		"AWS_DEFAULT_REGION":    "eu-west-3", // AWS_REGION wins
		"AWS_REGION":            "eu-central-2",
		"AWS_ACCESS_KEY_ID":     "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN":     "session-token",
		"AWS_ENDPOINT_URL":      global,
		"AWS_ENDPOINT_URL_SQS":  sqsOnly,
	}))
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range callAll(t, cfg) {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	want := []struct{ endpoint, target, scope string }{
		{"sqs-only", "AmazonSQS.SendMessage", "/eu-central-2/sqs/"},
		{"global", "AWSEvents.PutEvents", "/eu-central-2/events/"},
		{"global", "secretsmanager.GetSecretValue", "/eu-central-2/secretsmanager/"},
	}
	if len(f.calls) != len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(f.calls), len(want), f.calls)
	}
	for i, w := range want {
		c := f.calls[i]
		if c.endpoint != w.endpoint || c.target != w.target || !strings.Contains(c.auth, "Credential=AKIDTEST/") || !strings.Contains(c.auth, w.scope) || c.token != "session-token" {
			t.Errorf("call %d = %+v, want %s at %s signed for %s with the session token", i, c, w.target, w.endpoint, w.scope)
		}
	}
}

func TestRegionFallsBackToAWSDefaultRegion(t *testing.T) {
	cfg, err := awsconfig.FromEnv(env(map[string]string{"AWS_DEFAULT_REGION": "eu-west-3"}))
	if err != nil || cfg.Region != "eu-west-3" {
		t.Fatalf("region %q, %v", cfg.Region, err)
	}
}

func TestWithoutCredentialsEveryCallSaysWhatToSet(t *testing.T) {
	f := &fakeAWS{}
	cfg, err := awsconfig.FromEnv(env(map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f.start(t, "global")}))
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range callAll(t, cfg) {
		if !errors.Is(err, awsconfig.ErrNoCredentials) {
			t.Errorf("call %d: %v, want ErrNoCredentials", i, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("unsigned calls went out: %+v", f.calls)
	}
}

func TestHalfSetCredentialsAreAnError(t *testing.T) {
	for _, vars := range []map[string]string{{"AWS_ACCESS_KEY_ID": "a"}, {"AWS_SECRET_ACCESS_KEY": "b"}} {
		if _, err := awsconfig.FromEnv(env(vars)); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
			t.Errorf("%v: %v", vars, err)
		}
	}
}

// TestClientsKeepTheSDKDefaults: the retryer and the HTTP client are what a client built
// from config.LoadDefaultConfig gets.
func TestClientsKeepTheSDKDefaults(t *testing.T) {
	cfg, err := awsconfig.FromEnv(env(map[string]string{"AWS_REGION": "us-east-1"}))
	if err != nil {
		t.Fatal(err)
	}
	o := sqs.NewFromConfig(cfg).Options()
	if n := o.Retryer.MaxAttempts(); n != retry.DefaultMaxAttempts {
		t.Errorf("retryer max attempts %d, want the SDK's %d", n, retry.DefaultMaxAttempts)
	}
	if _, ok := o.HTTPClient.(*awshttp.BuildableClient); !ok {
		t.Errorf("HTTP client %T, want the SDK's *http.BuildableClient", o.HTTPClient)
	}
}
