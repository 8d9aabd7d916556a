// Command role-defaults is the RoleDefaults action (pkg/action) as a Lambda function behind
// an EventBridge rule on Role Created. Configuration: action.LoadConfig's variables;
// ROLE_DEFAULTS, JSON: custom field name → the value it gets while empty;
// IDEMPOTENCY_TABLE; AWS as internal/awsconfig reads it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/pkg/action"
)

func main() {
	fn := builtin.NewLambda(action.NameRoleDefaults, os.Getenv, os.Stdout) // configuration, JSON logs, metric lines
	adapters, err := fn.AWS(context.Background())                          // Peerdom (key from SSM), DynamoDB
	lambda.Start(fn.Handler(adapters, err, builtin.RoleDefaults))          // the action behind EventBridge
}
