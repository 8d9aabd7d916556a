// Command onboard-peer is the OnboardPeer action (pkg/action) as a Lambda function behind
// an EventBridge rule on Peer Created. Configuration: action.LoadConfig's variables;
// ONBOARDING_ROLE_IDS, the comma-separated roles every new peer gets; IDEMPOTENCY_TABLE;
// AWS as internal/awsconfig reads it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/pkg/action"
)

func main() {
	fn := builtin.NewLambda(action.NameOnboardPeer, os.Getenv, os.Stdout) // configuration, JSON logs, metric lines
	adapters, err := fn.AWS(context.Background())                         // Peerdom (key from SSM), DynamoDB
	lambda.Start(fn.Handler(adapters, err, builtin.OnboardPeer))          // the action behind EventBridge
}
