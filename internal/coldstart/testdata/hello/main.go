// Command hello is the aws-lambda-go hello world: the cold start baseline of
// internal/coldstart's benchmark, built the same way as the functions. Whatever init it
// has is the runtime's and the library's, which no function of ours can avoid.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Name string `json:"name"`
}

func handle(_ context.Context, e event) (string, error) {
	return "Hello " + e.Name + "!", nil
}

func main() {
	lambda.Start(handle)
}
