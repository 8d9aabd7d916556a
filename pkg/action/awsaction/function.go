package awsaction

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Function is an action's Lambda function as its main.go builds it, in order: the
// configuration (NewFunction), the adapters (PeerdomClient), the handler for lambda.Start
// (Handler):
//
//	fn := awsaction.NewFunction("tag-circle", os.Getenv, os.Stdout)
//	api, err := fn.PeerdomClient(context.Background())
//	lambda.Start(fn.Handler(tagCircle(api), err))
//
// A configuration error is kept in Err until PeerdomClient returns it, and Handler ends
// the cold start with it.
type Function struct {
	Name      string
	Getenv    func(string) string
	Config    action.Config  // action.LoadConfig's
	AWSConfig aws.Config     // the AWS configuration from the environment, set by PeerdomClient
	Logger    *slog.Logger   // JSON lines at LOG_LEVEL
	Metrics   action.Counter // CloudWatch embedded metric lines (METRICS_NAMESPACE, METRICS_LEVEL)
	Err       error
}

// NewFunction reads the configuration of the action name from getenv; its log and metric
// lines go to w (stdout in Lambda, where CloudWatch reads both). The logger has no
// "action" attribute: the runner names the action in each line it logs.
func NewFunction(name string, getenv func(string) string, w io.Writer) *Function {
	fn := &Function{Name: name, Getenv: getenv, Logger: logging.Lambda(w, getenv("LOG_LEVEL")), Metrics: metrics.FromEnv(w, getenv)}
	fn.Config, fn.Err = action.LoadConfig(getenv)
	return fn
}

// PeerdomClient reads the AWS configuration from the environment (credentials, region,
// endpoints, as Lambda sets them) and makes the action's Peerdom client (PeerdomClient:
// its key from the SSM parameter, read now).
func (fn *Function) PeerdomClient(ctx context.Context) (*peerdomapi.Client, error) {
	if fn.Err != nil {
		return nil, fn.Err
	}
	cfg, err := awsconfig.FromEnv(fn.Getenv)
	if err != nil {
		return nil, err
	}
	fn.AWSConfig = cfg
	return PeerdomClient(ctx, fn.Name, fn.Config, ssm.NewFromConfig(cfg))
}

// Runner is h in the action's Runner: the authors of IGNORE_AUTHORS skipped, Once on the
// table IDEMPOTENCY_TABLE names (none when empty), the function's logger and metrics. It
// returns err (PeerdomClient's, or h's constructor's) as it is, and otherwise logs that
// the function is ready.
func (fn *Function) Runner(h action.Handler, err error) (*action.Runner, error) {
	if err != nil {
		return nil, err
	}
	fn.Ready()
	return &action.Runner{Name: fn.Name, Handler: h, IgnoreAuthors: fn.Config.IgnoreAuthors, Logger: fn.Logger, Metrics: fn.Metrics,
		Once: Once(fn.AWSConfig, strings.TrimSpace(fn.Getenv("IDEMPOTENCY_TABLE")))}, nil
}

// Ready logs that the function is ready, with its configuration (the key left out).
func (fn *Function) Ready() {
	fn.Logger.Info("ready", slog.String("action", fn.Name), slog.Any("config", fn.Config))
}

// Handler is h's handler for lambda.Start: Start(Runner(h, err)).
func (fn *Function) Handler(h action.Handler, err error) func(context.Context, events.EventBridgeEvent) error {
	return fn.Start(fn.Runner(h, err))
}

// Start is r behind EventBridgeHandler, for lambda.Start. When err is not nil it logs one
// line saying why the function cannot start and exits, which ends the cold start: Lambda
// reports an init failure.
func (fn *Function) Start(r *action.Runner, err error) func(context.Context, events.EventBridgeEvent) error {
	if err != nil {
		fn.Logger.Error(fn.Name+" cannot start: fix its configuration", slog.String("action", fn.Name), slog.String("error", err.Error()))
		os.Exit(1)
	}
	return EventBridgeHandler(r)
}
