package builtin

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
)

// Lambda is a shipped action's Lambda function: awsaction.Function, whose configuration,
// logger, metrics and cold-start failure it keeps, with the shipped actions' adapters
// (AWS; enrich adds its bus) and NewRunner's runner.
type Lambda struct {
	*awsaction.Function
}

// NewLambda reads the function's configuration from getenv (awsaction.NewFunction); its
// log and metric lines go to w. Enrich also needs EVENT_BUS_NAME.
func NewLambda(name string, getenv func(string) string, w io.Writer) *Lambda {
	fn := &Lambda{awsaction.NewFunction(name, getenv, w)}
	if fn.Err == nil && name == action.NameEnrich && fn.Config.EventBusName == "" {
		fn.Err = errors.New("EVENT_BUS_NAME is not set: set it to the event bus the snapshots go to")
	}
	return fn
}

// AWS makes the adapters on AWS: the Peerdom client, its key from the SSM parameter
// (Function.PeerdomClient), and the DynamoDB tables (Tables). The bus is left to the
// caller, so that only the function that publishes links the EventBridge client.
func (fn *Lambda) AWS(ctx context.Context) (Adapters, error) {
	api, err := fn.PeerdomClient(ctx)
	if err != nil {
		return Adapters{}, err
	}
	a := fn.Tables(dynamodb.NewFromConfig(fn.AWSConfig))
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
	fn.Ready()
	return r, nil
}

// Handler is the function's handler for lambda.Start: Function.Start(Runner(a, err)),
// which ends the cold start on an error.
func (fn *Lambda) Handler(a Adapters, err error) func(context.Context, events.EventBridgeEvent) error {
	return fn.Start(fn.Runner(a, err))
}
