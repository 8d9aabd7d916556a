// Command reconcile is the ReconcileFunction: on a schedule it lists every role, group and
// peer from the Peerdom API, publishes the changes no webhook reported (docs/contract.md)
// and records the entity state (internal/reconcile). Configuration: action.LoadConfig's
// variables (the API URL and key, EVENT_BUS_NAME, EVENT_SOURCE), STATE_TABLE, and
// IDEMPOTENCY_TABLE for the lease (both empty in local runs: memory, no lease); AWS as
// internal/awsconfig reads it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
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
	lambda.Start(handler(r, logger, os.Stdout))
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
	r := &reconcile.Reconciler{
		API:     api,
		Bus:     eventbridgebus.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName),
		Source:  cfg.EventSource,
		Reserve: 20 * time.Second,
	}
	db := dynamodb.NewFromConfig(awsCfg)
	// Empty table names are for local runs (events/env.json): the state lives as long as
	// the process (its first invoke is the baseline), and one process needs no lease.
	if table := getenv("STATE_TABLE"); table != "" {
		r.State = dynamostate.New(db, table)
	} else {
		r.State = memstate.New()
	}
	if table := getenv("IDEMPOTENCY_TABLE"); table != "" {
		r.Leases = dynamostore.New(db, table)
	}
	return r, nil
}

// handler runs one reconciliation per invocation (the scheduled event's content does not
// matter), logs one line, writes the metric line to metrics (stdout, where CloudWatch
// reads embedded metrics), and returns the report.
func handler(r *reconcile.Reconciler, logger *slog.Logger, metrics io.Writer) func(context.Context, json.RawMessage) (reconcile.Report, error) {
	return func(ctx context.Context, _ json.RawMessage) (reconcile.Report, error) {
		rep, err := r.Run(ctx)
		if line, ok := reconcile.MetricLine(rep, lambdacontext.FunctionName, time.Now()); ok && err == nil {
			fmt.Fprintln(metrics, string(line))
		}
		attrs := []any{slog.Any("listed", rep.Listed), slog.Int("differences", rep.Differences), slog.Int("published", rep.Published),
			slog.Int("failed", rep.Failed), slog.Int("recorded", rep.Recorded)}
		switch {
		case err != nil:
			logger.Error("reconciliation failed", append(attrs, slog.String("error", err.Error()))...)
		case rep.Skipped:
			logger.Info("reconciliation skipped: another run holds the lease")
		case rep.Baseline:
			logger.Info("first reconciliation: state recorded as the baseline, nothing published", attrs...)
		case rep.Incomplete:
			logger.Warn("reconciliation stopped at its deadline: the next run resumes", attrs...)
		default:
			logger.Info("reconciled", attrs...)
		}
		return rep, err
	}
}
