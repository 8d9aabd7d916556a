package builtin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
)

// Lambda is a shipped action's Lambda function as its main.go builds it, in order: the
// configuration (NewLambda), the adapters (AWS; enrich adds its bus), the handler for
// lambda.Start (Handler). A configuration error is kept in Err until AWS returns it.
type Lambda struct {
	Name      string
	Getenv    func(string) string
	Config    action.Config   // action.LoadConfig's
	AWSConfig aws.Config      // set by AWS
	Logger    *slog.Logger    // JSON lines at LOG_LEVEL
	Metrics   *metrics.Writer // the metric lines (METRICS_NAMESPACE, METRICS_LEVEL)
	Err       error
}

// NewLambda reads the function's configuration from getenv; its log and metric lines go
// to w (stdout in Lambda, where CloudWatch reads both). The logger has no "action"
// attribute: the runner names the action in each line it logs, and a second key would
// repeat it.
func NewLambda(name string, getenv func(string) string, w io.Writer) *Lambda {
	fn := &Lambda{Name: name, Getenv: getenv, Logger: logging.Lambda(w, getenv("LOG_LEVEL")), Metrics: metrics.FromEnv(w, getenv)}
	fn.Config, fn.Err = action.LoadConfig(getenv)
	if fn.Err == nil && name == action.NameEnrich && fn.Config.EventBusName == "" {
		fn.Err = errors.New("EVENT_BUS_NAME is not set: set it to the event bus the snapshots go to")
	}
	return fn
}

// AWS makes the adapters on AWS: the Peerdom client, its key from the SSM parameter
// (awsaction.PeerdomClient), and the DynamoDB tables (Tables). The bus is left to the
// caller, so that only the function that publishes links the EventBridge client.
func (fn *Lambda) AWS(ctx context.Context) (Adapters, error) {
	if fn.Err != nil {
		return Adapters{}, fn.Err
	}
	cfg, err := awsconfig.FromEnv(fn.Getenv)
	if err != nil {
		return Adapters{}, err
	}
	fn.AWSConfig = cfg
	api, err := awsaction.PeerdomClient(ctx, fn.Name, fn.Config, ssm.NewFromConfig(cfg))
	if err != nil {
		return Adapters{}, err
	}
	a := fn.Tables(dynamodb.NewFromConfig(cfg))
	a.API = api
	return a, nil
}

// DynamoDB is the part of *dynamodb.Client the tables' stores use.
type DynamoDB interface {
	dynamostate.API
	dynamostore.API
}

// Tables are the function's logger and metrics, and its tables on db: the entity state
// (STATE_TABLE) and the idempotency records (IDEMPOTENCY_TABLE), each none when its
// variable is empty, as in local runs.
func (fn *Lambda) Tables(db DynamoDB) Adapters {
	a := Adapters{Logger: fn.Logger, Metrics: fn.Metrics}
	if table := strings.TrimSpace(fn.Getenv("STATE_TABLE")); table != "" {
		a.State = dynamostate.New(db, table)
	}
	if table := strings.TrimSpace(fn.Getenv("IDEMPOTENCY_TABLE")); table != "" {
		a.Once = dynamostore.New(db, table)
	}
	return a
}

// Runner is NewRunner with the function's settings on a (err, AWS's, is returned as it
// is); it logs that the function is ready.
func (fn *Lambda) Runner(a Adapters, err error) (*action.Runner, error) {
	if err != nil {
		return nil, err
	}
	r, err := NewRunner(fn.Name, fn.Getenv, a)
	if err != nil {
		return nil, err
	}
	fn.Logger.Info("ready", slog.String("action", fn.Name), slog.Any("config", fn.Config))
	return r, nil
}

// Handler is the function's handler for lambda.Start: the Runner on a behind
// awsaction.EventBridgeHandler. When err (AWS's) or the runner's configuration is not
// nil, it logs one line saying why the function cannot start and exits, which ends the
// cold start: Lambda reports an init failure.
func (fn *Lambda) Handler(a Adapters, err error) func(context.Context, events.EventBridgeEvent) error {
	r, err := fn.Runner(a, err)
	if err != nil {
		fn.Logger.Error(fn.Name+" cannot start: fix its configuration", slog.String("action", fn.Name), slog.String("error", err.Error()))
		os.Exit(1)
	}
	return awsaction.EventBridgeHandler(r)
}
