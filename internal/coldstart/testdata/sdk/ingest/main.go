// Command ingest is a cold start baseline of the functions that link the SQS, Secrets
// Manager and SSM clients (ingest: its token in a secret or a parameter): the aws-lambda-go hello world (../../hello) that also
// builds those SDK clients from the environment as the functions do, and links the
// operations they call on them, and does nothing else. Its init is what those clients cost any function that must link them;
// internal/coldstart's benchmark holds each function's init to its baseline's.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
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
	c0 := sqs.NewFromConfig(cfg)
	c1 := secretsmanager.NewFromConfig(cfg)
	c2 := ssm.NewFromConfig(cfg)
	lambda.Start(func(_ context.Context, e event) (string, error) {
		_ = []any{c0.SendMessage, c1.GetSecretValue, c2.GetParameter} // linked, as the function links them; never called
		return "Hello " + e.Name + "!", nil
	})
}
