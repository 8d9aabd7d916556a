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
	tokens, err := ingest.TokensFromEnv(getenv, secretsmanager.NewFromConfig(cfg), ssm.NewFromConfig(cfg), logger)
	if err != nil {
		return nil, err
	}
	queue := sqsqueue.New(sqs.NewFromConfig(cfg), queueURL)
	return &ingest.Handler{Tokens: tokens, Queue: queue, Source: getenv("EVENT_SOURCE"), Now: time.Now, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
