package dynamostore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/idempotency/storetest"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// newTable makes a table on moto shaped as template.yaml's IdempotencyTable.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := dynamodb.NewFromConfig(mototest.Config(t))
	name := "idempotency-" + time.Now().Format("150405.000000000")
	if err := dynamostore.CreateTable(context.Background(), client, name); err != nil {
		t.Fatal(err)
	}
	return client, name
}

func TestConformance(t *testing.T) {
	client, name := newTable(t)
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) idempotency.Store {
		return dynamostore.New(client, name, dynamostore.WithClock(c.Now))
	}, storetest.Features{ContentionRounds: 20, ConditionalWriteRaces: true})
}

// TestItemsCarryTheTTLAttribute checks what DynamoDB's TTL needs (expiresAt in Unix
// seconds, never before the compared expiry), and that an item still in the table after
// its expiry counts as absent: DynamoDB deletes expired items only eventually, moto never.
func TestItemsCarryTheTTLAttribute(t *testing.T) {
	client, name := newTable(t)
	clock := storetest.NewClock()
	clock.Advance(1500 * time.Millisecond) // not a whole second: expiresAt must round up
	s := dynamostore.New(client, name, dynamostore.WithClock(clock.Now))
	ctx := context.Background()
	if err := s.Complete(ctx, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if done, err := s.Completed(ctx, "k"); err != nil || done {
		t.Fatalf("Completed after expiry = %v, %v; want false", done, err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name),
		Key: map[string]types.AttributeValue{dynamostore.AttrID: &types.AttributeValueMemberS{Value: "done#k"}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Fatal("the expired record is gone from the table; this test expects it to be there")
	}
	num := func(attr string) int64 {
		n, ok := out.Item[attr].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("item has no number %s: %v", attr, out.Item)
		}
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return v
	}
	wantUntil := storetest.NewClock().Now().Add(time.Hour + 1500*time.Millisecond)
	if got := num(dynamostore.AttrUntil); got != wantUntil.UnixMilli() {
		t.Errorf("until = %d, want %d", got, wantUntil.UnixMilli())
	}
	if got := num(dynamostore.AttrExpiresAt); got != wantUntil.Unix()+1 {
		t.Errorf("expiresAt = %d, want %d (seconds, rounded up)", got, wantUntil.Unix()+1)
	}
}
