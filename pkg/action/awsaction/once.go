package awsaction

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/pkg/action"
)

// Once is the runner's effects-once hook (action.Once) on the DynamoDB table named table
// (template.yaml's IdempotencyTable, given to the actions as IDEMPOTENCY_TABLE). An empty
// name, as in local runs, means none: every delivery runs.
func Once(cfg aws.Config, table string) *action.Once {
	table = strings.TrimSpace(table)
	if table == "" {
		return nil
	}
	return &action.Once{Store: dynamostore.New(dynamodb.NewFromConfig(cfg), table)}
}
