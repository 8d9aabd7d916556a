// Command worker is the queue consumer Lambda (WorkerFunction): SQS batch → internal/worker →
// EventBridge, with a partial batch response. Configuration: EVENT_BUS_NAME;
// EVENT_SOURCE (default "peerdom"); LOG_LEVEL.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/worker"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func main() {
	logger := logging.New(os.Stdout, os.Getenv("LOG_LEVEL"))
	h, err := newHandler(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("worker: bad configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.HandleSQS)
}

func newHandler(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*worker.Handler, error) {
	busName := getenv("EVENT_BUS_NAME")
	if busName == "" {
		return nil, errors.New("EVENT_BUS_NAME is not set")
	}
	source := getenv("EVENT_SOURCE")
	if source == "" {
		source = peerdom.DefaultSource
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return &worker.Handler{Bus: eventbridgebus.New(eventbridge.NewFromConfig(cfg), busName), Source: source, Logger: logger}, nil
}
