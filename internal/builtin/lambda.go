package builtin

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
)

// Lambda is a shipped action's Lambda function: awsaction.Function, whose configuration,
// logger, metrics and cold-start failure it keeps, with the shipped actions' adapters
// (AWS; enrich adds its bus and state) and their runner.
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
// (Function.PeerdomClient), and the idempotency table (Tables). The bus and the entity
// state are left to enrich's main.go, so that only it links the EventBridge client.
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

// Tables are the function's logger and metrics, and its idempotency records on db in the
// table IDEMPOTENCY_TABLE names (none when it is empty, as in local runs).
func (fn *Lambda) Tables(db DynamoDB) Adapters {
	a := Adapters{Logger: fn.Logger, Metrics: fn.Metrics}
	if table := strings.TrimSpace(fn.Getenv("IDEMPOTENCY_TABLE")); table != "" {
		a.Once = dynamostore.New(db, table)
	}
	return a
}

// State is the entity state in the DynamoDB table named table (StateTable).
func (fn *Lambda) State(table string) state.Store {
	return StateTable(dynamodb.NewFromConfig(fn.AWSConfig), table)
}

// StateTable is the entity state in the table on db; nil (none) when table is empty.
func StateTable(db dynamostate.API, table string) state.Store {
	if table = strings.TrimSpace(table); table == "" {
		return nil
	}
	return dynamostate.New(db, table)
}

// Runner is newHandler's handler on a in the action's Runner (err, AWS's, is returned as
// it is); it logs that the function is ready.
func (fn *Lambda) Runner(a Adapters, err error, newHandler NewHandler) (*action.Runner, error) {
	if err != nil {
		return nil, err
	}
	h, err := newHandler(a, fn.Getenv)
	if err != nil {
		return nil, err
	}
	fn.Ready()
	return runner(fn.Name, fn.Getenv, a, h), nil
}

// Handler is the function's handler for lambda.Start: Function.Start(Runner(...)), which
// ends the cold start on an error.
func (fn *Lambda) Handler(a Adapters, err error, newHandler NewHandler) func(context.Context, events.EventBridgeEvent) error {
	return fn.Start(fn.Runner(a, err, newHandler))
}
