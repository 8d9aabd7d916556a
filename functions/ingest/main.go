// Command ingest is the webhook Lambda (IngestFunction): API Gateway HTTP API
// POST /webhooks/{token} → internal/ingest → SQS. Configuration: QUEUE_URL; the accepted
// tokens from the secret WEBHOOK_TOKEN_SECRET_ID (a JSON list or one token), else from
// WEBHOOK_TOKENS (comma-separated, for local use); LOG_LEVEL.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
	"github.com/peerbridge/peerbridge/internal/secrets"
)

// tokenMaxAge: how long a container trusts the tokens it read, so a rotated secret
// reaches warm containers without a redeploy.
const tokenMaxAge = 5 * time.Minute

func main() {
	logger := logging.New(os.Stdout, os.Getenv("LOG_LEVEL"))
	ctx := context.Background()
	h, err := newHandler(ctx, os.Getenv, logger)
	if err != nil {
		logger.Error("ingest: bad configuration", "error", err.Error())
		os.Exit(1)
	}
	// Load the tokens during init; on failure each request retries (answering 503 meanwhile).
	initCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if _, err := h.Tokens.Tokens(initCtx); err != nil {
		logger.Error("ingest: webhook tokens not loaded yet", "error", err.Error())
	}
	cancel()
	lambda.Start(h.Handle)
}

func newHandler(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*ingest.Handler, error) {
	queueURL := getenv("QUEUE_URL")
	if queueURL == "" {
		return nil, errors.New("QUEUE_URL is not set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	var tokens ingest.TokenSource
	if id := getenv("WEBHOOK_TOKEN_SECRET_ID"); id != "" {
		client := secretsmanager.NewFromConfig(cfg)
		tokens = &ingest.TokenLoader{MaxAge: tokenMaxAge, Logger: logger, Load: func(ctx context.Context) ([]string, error) {
			value, err := secrets.Fetch(ctx, client, id)
			if err != nil {
				return nil, err
			}
			return ingest.ParseSecretTokens(value)
		}}
	} else if list := getenv("WEBHOOK_TOKENS"); list != "" {
		if tokens, err = ingest.NewTokens(ingest.SplitTokenList(list)); err != nil {
			return nil, err
		}
	} else {
		return nil, errors.New("set WEBHOOK_TOKEN_SECRET_ID (a secret holding the tokens) or WEBHOOK_TOKENS")
	}
	return &ingest.Handler{Tokens: tokens, Queue: sqsqueue.New(sqs.NewFromConfig(cfg), queueURL), Now: time.Now, Logger: logger}, nil
}
