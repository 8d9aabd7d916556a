// Command actions is a cold start baseline of the functions that link the SSM and
// DynamoDB clients (onboard-peer, role-defaults): the aws-lambda-go hello world (../../hello) that also
// builds those SDK clients from the environment as the functions do, and links the
// operations they call on them, and does nothing else. Its init is what those clients cost any function that must link them;
// internal/coldstart's benchmark holds each function's init to its baseline's.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
)

type event struct {
	Name string `json:"name"`
}

func main() {
	cfg, err := awsconfig.FromEnv(os.Getenv)
	if err != nil {
		panic(err)
	}
	c0 := ssm.NewFromConfig(cfg)
	c1 := dynamodb.NewFromConfig(cfg)
	lambda.Start(func(_ context.Context, e event) (string, error) {
		_ = []any{c0.GetParameter, c1.PutItem, c1.DeleteItem, c1.GetItem} // linked, as the function links them; never called
		return "Hello " + e.Name + "!", nil
	})
}
