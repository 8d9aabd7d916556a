// Command ingest is the webhook Lambda (IngestFunction): API Gateway HTTP API
// POST /webhooks/{token} → internal/ingest → SQS; or, with ENDPOINT=FunctionUrl
// (IngestUrlFunction), a Lambda function URL. Configuration: QUEUE_URL; the accepted
// tokens from WEBHOOK_TOKENS (comma-separated, the slot local runs fill; empty when
// deployed), else (a JSON list or one token) from the Secrets Manager secret
// WEBHOOK_TOKEN_SECRET_ID when set, else from the SSM SecureString parameter
// WEBHOOK_TOKEN_PARAMETER; EVENT_SOURCE, the worker's, so the
// event's size is measured as it will be published; LOG_LEVEL; AWS as internal/awsconfig reads it.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/parameter"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
	"github.com/peerbridge/peerbridge/internal/secrets"
)

func main() {
	logger := logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL"))
	h, err := newHandler(os.Getenv, logger)
	if err != nil {
		logger.Error("ingest cannot start: fix its configuration", "error", err.Error())
		os.Exit(1)
	}
	// Load the tokens during init; on failure each request retries (answering 503 meanwhile).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	if _, err := h.Tokens.Tokens(ctx); err != nil {
		logger.Error("ingest: webhook tokens not loaded yet", "error", err.Error())
	}
	cancel()
	if os.Getenv("ENDPOINT") == "FunctionUrl" {
		lambda.Start(h.HandleFunctionURL) // a function URL has no routes: ingest checks the route
		return
	}
	lambda.Start(h.HandleHTTPAPI) // the HTTP API's event, decoding only what ingest reads
}

func newHandler(getenv func(string) string, logger *slog.Logger) (*ingest.Handler, error) {
	queueURL := getenv("QUEUE_URL")
	if queueURL == "" {
		return nil, errors.New("QUEUE_URL is not set: set it to the webhook queue's URL")
	}
	cfg, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	var tokens ingest.TokenSource
	// Reloaded every 5 minutes, so a rotated token reaches warm containers.
	loader := func(fetch func(context.Context) (string, error)) ingest.TokenSource {
		return &ingest.TokenLoader{MaxAge: 5 * time.Minute, Logger: logger, Load: func(ctx context.Context) ([]string, error) {
			value, err := fetch(ctx)
			if err != nil {
				return nil, err
			}
			return ingest.ParseSecretTokens(value)
		}}
	}
	switch plain := ingest.SplitTokenList(getenv("WEBHOOK_TOKENS")); {
	case len(plain) > 0: // the slot local runs fill (sam local invoke --env-vars); empty when deployed
		tokens, err = ingest.NewTokens(plain)
		if err != nil {
			return nil, errors.New("WEBHOOK_TOKENS: " + err.Error())
		}
	case getenv("WEBHOOK_TOKEN_SECRET_ID") != "":
		client, id := secretsmanager.NewFromConfig(cfg), getenv("WEBHOOK_TOKEN_SECRET_ID")
		tokens = loader(func(ctx context.Context) (string, error) { return secrets.Fetch(ctx, client, id) })
	case getenv("WEBHOOK_TOKEN_PARAMETER") != "":
		client, name := ssm.NewFromConfig(cfg), getenv("WEBHOOK_TOKEN_PARAMETER")
		tokens = loader(func(ctx context.Context) (string, error) { return parameter.Fetch(ctx, client, name) })
	default:
		return nil, errors.New("set WEBHOOK_TOKEN_PARAMETER (an SSM parameter holding the tokens), WEBHOOK_TOKEN_SECRET_ID (a secret) or WEBHOOK_TOKENS")
	}
	queue := sqsqueue.New(sqs.NewFromConfig(cfg), queueURL)
	return &ingest.Handler{Tokens: tokens, Queue: queue, Source: getenv("EVENT_SOURCE"), Now: time.Now, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
