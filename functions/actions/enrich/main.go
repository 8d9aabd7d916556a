// Command enrich is the Enrich action (pkg/action) as a Lambda function behind an
// EventBridge rule on Role, Group and Peer Created/Updated: it publishes "<Entity>
// Snapshot" events, and (STATE_TABLE set) keeps reconciliation's entity state current,
// Deleted events included. Configuration: action.LoadConfig's variables, EVENT_BUS_NAME
// and EVENT_SOURCE among them; STATE_TABLE; IDEMPOTENCY_TABLE; AWS as internal/awsconfig
// reads it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/pkg/action"
)

func main() {
	fn := builtin.NewLambda(action.NameEnrich, os.Getenv, os.Stdout) // configuration, JSON logs, metric lines
	adapters, err := fn.AWS(context.Background())                    // Peerdom (key from SSM), DynamoDB
	adapters.Bus, adapters.State = snapshots(fn), fn.State(os.Getenv("STATE_TABLE"))
	lambda.Start(fn.Handler(adapters, err, builtin.Enrich)) // the action behind EventBridge
}

// snapshots is the bus the snapshots go to: only enrich links the EventBridge client.
func snapshots(fn *builtin.Lambda) eventbridgebus.Bus {
	return eventbridgebus.New(eventbridge.NewFromConfig(fn.AWSConfig), fn.Config.EventBusName)
}
