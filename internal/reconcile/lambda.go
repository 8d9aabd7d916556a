package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
)

// Lambda is the ReconcileFunction's handler (functions/reconcile): one run per invocation,
// whatever the scheduled event holds, one log line, and the metric line.
type Lambda struct {
	Reconciler *Reconciler
	Logger     *slog.Logger
	Metrics    io.Writer // the metric line's writer: stdout, where CloudWatch reads embedded metrics
	Function   string    // the metric's dimension: the function's name (lambdacontext.FunctionName)
}

// Handle runs one reconciliation and returns its report.
func (l Lambda) Handle(ctx context.Context, _ json.RawMessage) (Report, error) {
	rep, err := l.Reconciler.Run(ctx)
	if line, ok := MetricLine(rep, l.Function, time.Now()); ok && err == nil {
		fmt.Fprintln(l.Metrics, string(line))
	}
	attrs := []any{slog.Any("listed", rep.Listed), slog.Int("differences", rep.Differences), slog.Int("published", rep.Published),
		slog.Int("failed", rep.Failed), slog.Int("recorded", rep.Recorded)}
	switch {
	case err != nil:
		l.Logger.Error("reconciliation failed", append(attrs, slog.String("error", err.Error()))...)
	case rep.Skipped:
		l.Logger.Info("reconciliation skipped: another run holds the lease")
	case rep.Baseline:
		l.Logger.Info("first reconciliation: state recorded as the baseline, nothing published", attrs...)
	case rep.Incomplete:
		l.Logger.Warn("reconciliation stopped at its deadline: the next run resumes", attrs...)
	default:
		l.Logger.Info("reconciled", attrs...)
	}
	return rep, err
}

// DynamoDB is the part of *dynamodb.Client the tables' stores use.
type DynamoDB interface {
	dynamostate.API
	dynamostore.API
}

// Tables gives r its entity state and lease on db: the tables named stateTable and
// leaseTable (STATE_TABLE, IDEMPOTENCY_TABLE). Empty names are for local runs
// (events/env.json): the state lives in memory as long as the process (its first invoke
// is the baseline), and one process needs no lease.
func (r *Reconciler) Tables(db DynamoDB, stateTable, leaseTable string) {
	r.State, r.Leases = memstate.New(), nil
	if stateTable = strings.TrimSpace(stateTable); stateTable != "" {
		r.State = dynamostate.New(db, stateTable)
	}
	if leaseTable = strings.TrimSpace(leaseTable); leaseTable != "" {
		r.Leases = dynamostore.New(db, leaseTable)
	}
}
