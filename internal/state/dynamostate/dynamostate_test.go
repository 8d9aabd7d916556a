package dynamostate_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/internal/state/statetest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var tableSeq atomic.Int64

// NewTable makes an empty table on moto shaped as template.yaml's EntityStateTable.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := dynamodb.NewFromConfig(mototest.Config(t))
	name := fmt.Sprintf("state-%s-%d", time.Now().Format("150405.000000"), tableSeq.Add(1))
	if err := dynamostate.CreateTable(context.Background(), client, name); err != nil {
		t.Fatal(err)
	}
	return client, name
}

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		client, name := newTable(t)
		s := dynamostate.New(client, name)
		s.ScanPage = 7 // All must follow LastEvaluatedKey over several pages
		return s
	}, statetest.Features{ContentionRounds: 10, ConditionalWriteRaces: true}) // moto 5.2.1: see the feature
}
