package awsaction

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/pkg/action"
)

// newOnce is the runner's idempotency hook on the DynamoDB table IDEMPOTENCY_TABLE
// (template.yaml's IdempotencyTable); empty, as in local runs: none.
func newOnce(ctx context.Context, getenv func(string) string, awsConfig func(context.Context) (aws.Config, error)) (*action.Once, error) {
	table := strings.TrimSpace(getenv("IDEMPOTENCY_TABLE"))
	if table == "" {
		return nil, nil
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration for IDEMPOTENCY_TABLE: %w", err)
	}
	return &action.Once{Store: dynamostore.New(dynamodb.NewFromConfig(cfg), table)}, nil
}
