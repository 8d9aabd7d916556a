// Command role-defaults is the RoleDefaults action (pkg/action) as a Lambda function behind
// an EventBridge rule on Role Created. Configuration: action.LoadConfig's variables;
// ROLE_DEFAULTS, JSON: custom field name → the value it gets while empty; AWS as
// internal/awsconfig reads it.
package main

import (
	"context"
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

const name = action.NameRoleDefaults

func main() {
	// No "action" member here: the runner names its action in each line.
	logger := logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL"))
	runner, err := newRunner(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error(name+" cannot start: fix its configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(awsaction.EventBridgeHandler(runner))
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
	defaults, err := action.ParseFieldDefaults(getenv("ROLE_DEFAULTS"))
	if err != nil {
		return nil, err
	}
	h, err := action.NewRoleDefaults(api, defaults)
	if err != nil {
		return nil, err
	}
	logger.Info("ready", slog.Any("config", cfg))
	once := awsaction.Once(awsCfg, getenv("IDEMPOTENCY_TABLE"))
	return &action.Runner{Name: name, Handler: h, IgnoreAuthors: cfg.IgnoreAuthors, Once: once, Logger: logger,
		Metrics: metrics.FromEnv(os.Stdout, getenv)}, nil
}
