// Command ingest is the webhook Lambda (IngestFunction): API Gateway HTTP API
// POST /webhooks/{token} → internal/ingest → SQS; or, with ENDPOINT=FunctionUrl
// (IngestUrlFunction), a Lambda function URL. Configuration: QUEUE_URL; the accepted
// tokens from the secret WEBHOOK_TOKEN_SECRET_ID (a JSON list or one token), else from
// WEBHOOK_TOKENS (comma-separated, for local use); EVENT_SOURCE, the worker's, so the
// event's size is measured as it will be published; LOG_LEVEL; AWS as internal/awsconfig reads it.
package main

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
)

func main() {
	logger := logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL"))
	h, err := newHandler(os.Getenv, logger)
	if err != nil {
		logger.Error("ingest cannot start: fix its configuration", "error", err.Error())
		os.Exit(1)
	}
	h.LoadTokens(3 * time.Second) // during init; on failure each request tries again
	if os.Getenv("ENDPOINT") == "FunctionUrl" {
		lambda.Start(h.HandleFunctionURL) // a function URL has no routes: ingest checks the route
		return
	}
	lambda.Start(h.HandleAPIGateway)
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
	if id := getenv("WEBHOOK_TOKEN_SECRET_ID"); id != "" {
		tokens = ingest.SecretTokens(secretsmanager.NewFromConfig(cfg), id, 5*time.Minute, logger)
	} else if tokens, err = ingest.NewTokens(ingest.SplitTokenList(getenv("WEBHOOK_TOKENS"))); err != nil {
		return nil, errors.New("set WEBHOOK_TOKEN_SECRET_ID (a secret holding the tokens) or WEBHOOK_TOKENS: " + err.Error())
	}
	queue := sqsqueue.New(sqs.NewFromConfig(cfg), queueURL)
	return &ingest.Handler{Tokens: tokens, Queue: queue, Source: getenv("EVENT_SOURCE"), Now: time.Now, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
