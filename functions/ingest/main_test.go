package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func post(token, text string) events.APIGatewayV2HTTPRequest {
	return postWithID(token, text, "req-"+strings.ToUpper(text[len(text)-1:]))
}

func postWithID(token, text, id string) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(map[string]string{"text": text})
	req := events.APIGatewayV2HTTPRequest{RawPath: "/webhooks/" + token, PathParameters: map[string]string{"token": token}, Body: string(b)}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = id
	return req
}

func newQueue(t *testing.T, name string) (*sqs.Client, string) {
	t.Helper()
	c := sqs.NewFromConfig(mototest.Config(t))
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return c, aws.ToString(out.QueueUrl)
}

// TestWiredFromEnvironment builds the handler exactly as the Lambda does, from its
// environment variables, and drives it against moto: tokens from a Secrets Manager
// secret (loaded when first needed), the envelope onto an SQS queue.
func TestWiredFromEnvironment(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	q, url := newQueue(t, mototest.Name("ingest-main"))
	secret := mototest.Name("peerbridge/webhook-tokens")
	var logs bytes.Buffer
	h, err := newHandler(mototest.Getenv(map[string]string{"QUEUE_URL": url, "WEBHOOK_TOKEN_SECRET_ID": secret}), logging.New(&logs, "info"))
	if err != nil {
		t.Fatal(err)
	}

	// The secret does not exist yet: the service is unavailable, not open.
	resp, _ := h.HandleAPIGateway(ctx, post("tok-1", "Role created"))
	if resp.StatusCode != 503 {
		t.Fatalf("without the secret: %d %s", resp.StatusCode, resp.Body)
	}
	sm := secretsmanager.NewFromConfig(mototest.Config(t))
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secret), SecretString: aws.String(`["tok-1","tok-2"]`)}); err != nil {
		t.Fatal(err)
	}
	for i, tok := range []string{"tok-1", "tok-2"} {
		id := []string{"req-one", "req-two"}[i]
		resp, _ := h.HandleAPIGateway(ctx, postWithID(tok, "Role created by "+id, id))
		if resp.StatusCode != 200 || resp.Body != `{"id":"`+id+`"}` {
			t.Fatalf("token %s: %d %s", tok, resp.StatusCode, resp.Body)
		}
	}
	if resp, _ := h.HandleAPIGateway(ctx, post("tok-3", "x")); resp.StatusCode != 401 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}

	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 2 {
		t.Fatalf("%d messages on the queue, want 2", len(out.Messages))
	}
	for _, m := range out.Messages {
		d, err := peerdom.DecodeDelivery([]byte(aws.ToString(m.Body)))
		if err != nil || !strings.HasPrefix(d.ID, "req-") || d.Text != "Role created by "+d.ID {
			t.Errorf("message %s: %+v, %v", aws.ToString(m.Body), d, err)
		}
	}
	for _, tok := range []string{"tok-1", "tok-2", "tok-3"} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("a token appears in the logs:\n%s", logs.String())
		}
	}
}

// TestWiredFromParameter: the template's default, the tokens from a Systems Manager
// SecureString parameter (WEBHOOK_TOKEN_PARAMETER) read over the wire from moto:
// unavailable until it exists, then each of its tokens accepted, another refused, and
// a secret named too (WebhookTokenSecretName) taking its place, plain tokens both's.
func TestWiredFromParameter(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	q, url := newQueue(t, mototest.Name("ingest-param"))
	name := "/" + mototest.Name("peerbridge") + "/webhook-token"
	var logs bytes.Buffer
	h, err := newHandler(mototest.Getenv(map[string]string{"QUEUE_URL": url, "WEBHOOK_TOKEN_PARAMETER": name}), logging.New(&logs, "info"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.HandleFunctionURL(ctx, urlPost("tok-p1", "Role created")); resp.StatusCode != 503 {
		t.Fatalf("without the parameter: %d %s", resp.StatusCode, resp.Body)
	}
	if _, err := ssm.NewFromConfig(mototest.Config(t)).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name),
		Value: aws.String(`["tok-p1","tok-p2"]`), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"tok-p1", "tok-p2"} {
		if resp, _ := h.HandleFunctionURL(ctx, urlPost(tok, "Role created with "+tok)); resp.StatusCode != 200 {
			t.Fatalf("token %s: %d %s", tok, resp.StatusCode, resp.Body)
		}
	}
	if resp, _ := h.HandleFunctionURL(ctx, urlPost("tok-p3", "x")); resp.StatusCode != 401 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 2 {
		t.Fatalf("%d messages on the queue (%v), want 2", len(out.Messages), err)
	}
	if strings.Contains(logs.String(), "tok-p") {
		t.Errorf("a token appears in the logs:\n%s", logs.String())
	}

	// A secret named as well wins (the template sets one or the other).
	secret := mototest.Name("peerbridge/webhook-token-secret")
	if _, err := secretsmanager.NewFromConfig(mototest.Config(t)).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secret),
		SecretString: aws.String("tok-s1")}); err != nil {
		t.Fatal(err)
	}
	both, err := newHandler(mototest.Getenv(map[string]string{"QUEUE_URL": url, "WEBHOOK_TOKEN_PARAMETER": name, "WEBHOOK_TOKEN_SECRET_ID": secret}), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := both.HandleFunctionURL(ctx, urlPost("tok-s1", "Role created by s1")); resp.StatusCode != 200 {
		t.Errorf("the secret's token: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := both.HandleFunctionURL(ctx, urlPost("tok-p1", "x")); resp.StatusCode != 401 {
		t.Errorf("the parameter's token with a secret named: %d", resp.StatusCode)
	}

	// Plain tokens (the slot sam local invoke --env-vars fills) win over both.
	local, err := newHandler(mototest.Getenv(map[string]string{"QUEUE_URL": url, "WEBHOOK_TOKEN_PARAMETER": name, "WEBHOOK_TOKEN_SECRET_ID": secret,
		"WEBHOOK_TOKENS": "local-test-token"}), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := local.HandleFunctionURL(ctx, urlPost("local-test-token", "Role created locally")); resp.StatusCode != 200 {
		t.Errorf("the plain token: %d %s", resp.StatusCode, resp.Body)
	}
	for _, tok := range []string{"tok-s1", "tok-p1"} {
		if resp, _ := local.HandleFunctionURL(ctx, urlPost(tok, "x")); resp.StatusCode != 401 {
			t.Errorf("%s with plain tokens set: %d", tok, resp.StatusCode)
		}
	}
}

func TestWiredWithPlainTokensAndQueueDown(t *testing.T) {
	mototest.SetEnv(t)
	ctx := context.Background()
	missing := mototest.Endpoint(t) + "/123456789012/no-such-queue"
	h, err := newHandler(mototest.Getenv(map[string]string{"QUEUE_URL": missing, "WEBHOOK_TOKENS": "local-a, local-b"}), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := h.HandleAPIGateway(ctx, post("local-b", "Role created"))
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" || strings.Contains(resp.Body, `"id"`) {
		t.Fatalf("queue down: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

func TestConfigurationErrors(t *testing.T) {
	mototest.SetEnv(t)
	for name, vars := range map[string]map[string]string{
		"no queue":     {"WEBHOOK_TOKENS": "a"},
		"no tokens":    {"QUEUE_URL": "http://q"},
		"blank tokens": {"QUEUE_URL": "http://q", "WEBHOOK_TOKENS": " , "},
	} {
		if _, err := newHandler(mototest.Getenv(vars), logging.Discard()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func urlPost(token, text string) events.LambdaFunctionURLRequest {
	b, _ := json.Marshal(map[string]string{"text": text})
	req := events.LambdaFunctionURLRequest{RawPath: "/webhooks/" + token, Body: string(b)}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = fmt.Sprintf("req-url-%d", len(text))
	return req
}
