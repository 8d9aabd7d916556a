// Command worker is the queue consumer Lambda (WorkerFunction): SQS batch → internal/worker →
// EventBridge, with a partial batch response. Configuration: EVENT_BUS_NAME;
// EVENT_SOURCE (default "peerdom"); LOG_LEVEL; AWS as internal/awsconfig reads it.
package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/worker"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func main() {
	logger := logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL"))
	h, err := newHandler(os.Getenv, logger)
	if err != nil {
		logger.Error("worker cannot start: fix its configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.HandleSQS)
}

func newHandler(getenv func(string) string, logger *slog.Logger) (*worker.Handler, error) {
	busName := getenv("EVENT_BUS_NAME")
	if busName == "" {
		return nil, errors.New("EVENT_BUS_NAME is not set: set it to the event bus the events go to")
	}
	source := getenv("EVENT_SOURCE")
	if source == "" {
		source = peerdom.DefaultSource
	}
	cfg, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	bus := eventbridgebus.New(eventbridge.NewFromConfig(cfg), busName)
	return &worker.Handler{Bus: bus, Source: source, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
