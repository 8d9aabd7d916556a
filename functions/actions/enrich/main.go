// Command enrich is the Enrich action (pkg/action) as a Lambda function behind an
// EventBridge rule on Role, Group and Peer Created/Updated: it publishes "<Entity>
// Snapshot" events, and (STATE_TABLE set) keeps reconciliation's entity state current,
// Deleted events included. Configuration: action.LoadConfig's variables, EVENT_BUS_NAME
// and EVENT_SOURCE among them; STATE_TABLE; AWS as internal/awsconfig reads it.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
)

const name = action.NameEnrich

func main() {
	logger := newLogger(os.Stdout, os.Getenv)
	runner, err := newRunner(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error(name+" cannot start: fix its configuration", slog.String("action", name), slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(awsaction.EventBridgeHandler(runner))
}

// newLogger is the function's logger: JSON lines at LOG_LEVEL. No With("action", …): the
// runner names the action in each line it logs, and a second "action" key would repeat it.
func newLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	return logging.Lambda(w, getenv("LOG_LEVEL"))
}

func newRunner(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*action.Runner, error) {
	cfg, err := action.LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	if cfg.EventBusName == "" {
		return nil, errors.New("EVENT_BUS_NAME is not set: set it to the event bus the snapshots go to")
	}
	awsCfg, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	api, err := awsaction.PeerdomClient(ctx, name, cfg, ssm.NewFromConfig(awsCfg))
	if err != nil {
		return nil, err
	}
	snapshots := eventbridgebus.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	h, err := action.NewEnrich(api, snapshots, cfg.EventSource)
	if err != nil {
		return nil, err
	}
	ignore := cfg.IgnoreAuthors
	if table := getenv("STATE_TABLE"); table != "" {
		h.State = dynamostate.New(dynamodb.NewFromConfig(awsCfg), table)
		// The state must follow every change, the actions' own too; enrich writes nothing
		// to Peerdom, so it cannot loop.
		ignore = nil
	}
	logger.Info("ready", slog.String("action", name), slog.Any("config", cfg))
	once := awsaction.Once(awsCfg, getenv("IDEMPOTENCY_TABLE"))
	return &action.Runner{Name: name, Handler: h, IgnoreAuthors: ignore, Once: once, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
