package dynamostore_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
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

// countingAPI counts the requests a store makes, by operation.
type countingAPI struct {
	*dynamodb.Client
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingAPI) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	return c.Client.PutItem(ctx, in, opts...)
}

func (c *countingAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.count("DeleteItem")
	return c.Client.DeleteItem(ctx, in, opts...)
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.Client.UpdateItem(ctx, in, opts...)
}

// TestClaimAndFinishAreOneWriteEach: a delivery's claim and finish are one UpdateItem
// each, no read (2 writes, where Completed, Acquire, Completed, Complete and Release make
// 2 reads and 3 writes); the item carries the TTL attribute past the record's expiry.
func TestClaimAndFinishAreOneWriteEach(t *testing.T) {
	client, name := newTable(t)
	api := &countingAPI{Client: client, calls: map[string]int{}}
	clock := storetest.NewClock()
	s := dynamostore.New(api, name, dynamostore.WithClock(clock.Now))
	ctx := context.Background()
	c, err := s.Claim(ctx, "enrich/peer/id/p1", "owner", time.Minute, 7*24*time.Hour, "enrich/d1")
	if err != nil || c.Done {
		t.Fatalf("claim %+v, %v", c, err)
	}
	if err := s.Finish(ctx, c, "enrich/d1"); err != nil {
		t.Fatal(err)
	}
	if len(api.calls) != 1 || api.calls["UpdateItem"] != 2 {
		t.Fatalf("requests %v, want 2 UpdateItem and nothing else", api.calls)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name),
		Key: map[string]types.AttributeValue{dynamostore.AttrID: &types.AttributeValueMemberS{Value: "claim#enrich/peer/id/p1"}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := out.Item[dynamostore.AttrExpiresAt].(*types.AttributeValueMemberN)
	records, _ := out.Item[dynamostore.AttrRecords].(*types.AttributeValueMemberM)
	_, owned := out.Item[dynamostore.AttrOwner]
	if exp == nil || exp.Value != strconv.FormatInt(clock.Now().Add(7*24*time.Hour).Unix(), 10) || records == nil || records.Value["enrich/d1"] == nil || owned {
		t.Errorf("item after finish: %v", out.Item)
	}
}

// itemSize is an item's size as DynamoDB bills it: attribute names and values, a number
// ~1 byte per 2 digits plus 1, a map's entries 1 byte each plus 3 bytes.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return (len(v.Value)+1)/2 + 1
	case *types.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += len(name) + valueSize(e) + 1
		}
		return n
	}
	return 0
}

// TestClaimItemStaysUnderOneKB: an entity's claim item, after many deliveries with ids
// as ingest makes them, keeps MaxRecords records and stays under the 1 KB that one write
// unit covers.
func TestClaimItemStaysUnderOneKB(t *testing.T) {
	client, name := newTable(t)
	clock := storetest.NewClock()
	s := dynamostore.New(client, name, dynamostore.WithClock(clock.Now))
	ctx := context.Background()
	key := "role-defaults/role/id/9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66"
	for i := range 3 * idempotency.MaxRecords {
		clock.Advance(time.Second)
		record := fmt.Sprintf("role-defaults/Jk3sZhVuIAMEbX%02d=", i) // an API Gateway request id
		c, err := s.Claim(ctx, key, "3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11", 35*time.Second, 7*24*time.Hour, record)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(ctx, c, record); err != nil {
			t.Fatal(err)
		}
	}
	// While held, the item also carries the owner and the lease's expiry.
	if _, err := s.Claim(ctx, key, "3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11", 35*time.Second, 7*24*time.Hour, "x"); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name),
		Key: map[string]types.AttributeValue{dynamostore.AttrID: &types.AttributeValueMemberS{Value: "claim#" + key}}})
	if err != nil {
		t.Fatal(err)
	}
	records, _ := out.Item[dynamostore.AttrRecords].(*types.AttributeValueMemberM)
	if records == nil || len(records.Value) != idempotency.MaxRecords {
		t.Fatalf("records %v, want %d", out.Item[dynamostore.AttrRecords], idempotency.MaxRecords)
	}
	if n := itemSize(out.Item); n > 1024 {
		t.Errorf("claim item of %d bytes: two write units a write", n)
	} else {
		t.Logf("claim item with %d records: %d bytes", idempotency.MaxRecords, n)
	}
}
