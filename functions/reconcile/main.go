// Command reconcile is the ReconcileFunction: on a schedule, internal/reconcile publishes
// the changes no webhook reported (docs/contract.md) and records the entity state.
// Configuration: action.LoadConfig's variables (the API URL and key, EVENT_BUS_NAME,
// EVENT_SOURCE), STATE_TABLE, IDEMPOTENCY_TABLE (the lease); AWS as internal/awsconfig reads it.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
)

func main() {
	logger := logging.Lambda(os.Stdout, os.Getenv("LOG_LEVEL")).With(slog.String("function", "reconcile"))
	r, err := newReconciler(context.Background(), os.Getenv)
	if err != nil {
		logger.Error("reconcile cannot start: fix its configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(reconcile.Lambda{Reconciler: r, Logger: logger, Metrics: os.Stdout, Function: lambdacontext.FunctionName}.Handle)
}

func newReconciler(ctx context.Context, getenv func(string) string) (*reconcile.Reconciler, error) {
	cfg, err := action.LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	if cfg.EventBusName == "" {
		return nil, errors.New("EVENT_BUS_NAME is not set: set it to the event bus the differences go to")
	}
	awsCfg, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	api, err := awsaction.PeerdomClient(ctx, "reconcile", cfg, ssm.NewFromConfig(awsCfg))
	if err != nil {
		return nil, err
	}
	bus := eventbridgebus.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	r := &reconcile.Reconciler{API: api, Bus: bus, Source: cfg.EventSource, Reserve: 20 * time.Second}
	r.Tables(dynamodb.NewFromConfig(awsCfg), getenv("STATE_TABLE"), getenv("IDEMPOTENCY_TABLE"))
	return r, nil
}
