// Command onboard-peer is the OnboardPeer action (pkg/action) as a Lambda function behind
// an EventBridge rule on Peer Created. Configuration: action.LoadConfig's variables;
// ONBOARDING_ROLE_IDS, the comma-separated roles every new peer gets; AWS as
// internal/awsconfig reads it.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
)

const name = action.NameOnboardPeer

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
	awsCfg, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	api, err := awsaction.PeerdomClient(ctx, name, cfg, ssm.NewFromConfig(awsCfg))
	if err != nil {
		return nil, err
	}
	h, err := action.NewOnboardPeer(api, action.ParseList(getenv("ONBOARDING_ROLE_IDS")))
	if err != nil {
		return nil, err
	}
	logger.Info("ready", slog.String("action", name), slog.Any("config", cfg))
	once := awsaction.Once(awsCfg, getenv("IDEMPOTENCY_TABLE"))
	return &action.Runner{Name: name, Handler: h, IgnoreAuthors: cfg.IgnoreAuthors, Once: once, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
