// Package dynamostore keeps idempotency leases and completion records in one DynamoDB
// table (template.yaml's IdempotencyTable): partition key "id" (a string), TTL attribute
// "expiresAt". Leases are items "lease#<key>" taken with a conditional put (absent, or
// expired, or already ours) and released with a conditional delete (ours); records are
// items "done#<key>". Claims (idempotency.Claims) are items "claim#<key>" holding the
// lease and a map of the records of the deliveries that held it: taken and finished with
// one conditional UpdateItem each. Expiry is compared in the conditions and reads, in milliseconds of
// the store's clock, because DynamoDB's TTL deletes expired items only eventually.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/peerbridge/peerbridge/internal/idempotency"
)

// The table's attributes.
const (
	AttrID        = "id"        // partition key, string
	AttrOwner     = "owner"     // a lease's owner token
	AttrUntil     = "until"     // expiry, Unix milliseconds: what the store compares
	AttrExpiresAt = "expiresAt" // expiry, Unix seconds: the table's TTL attribute, for cleanup
)

// API is the part of *dynamodb.Client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var (
	_ API               = (*dynamodb.Client)(nil)
	_ idempotency.Store = (*Store)(nil)
)

// Store is the DynamoDB idempotency store. It is safe for concurrent use.
type Store struct {
	api   API
	table string
	now   func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read time from now instead of time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New makes a store on the table.
func New(api API, table string, opts ...Option) *Store {
	s := &Store{api: api, table: table, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

func leaseID(key string) string  { return "lease#" + key }
func recordID(key string) string { return "done#" + key }

// expiry is the attributes of an item that expires at t.
func expiry(t time.Time) map[string]types.AttributeValue {
	secs := t.Unix()
	if t.Nanosecond() > 0 {
		secs++ // TTL deletion must never come before the expiry compared
	}
	return map[string]types.AttributeValue{
		AttrUntil:     millis(t),
		AttrExpiresAt: &types.AttributeValueMemberN{Value: strconv.FormatInt(secs, 10)},
	}
}

func millis(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Acquire implements idempotency.Leases.
func (s *Store) Acquire(ctx context.Context, key, owner string, ttl time.Duration) error {
	now := s.now()
	item := expiry(now.Add(ttl))
	item[AttrID] = &types.AttributeValueMemberS{Value: leaseID(key)}
	item[AttrOwner] = &types.AttributeValueMemberS{Value: owner}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#id) OR #until <= :now OR #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#id": AttrID, "#until": AttrUntil, "#owner": AttrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":   millis(now),
			":owner": &types.AttributeValueMemberS{Value: owner},
		},
	})
	if conditionFailed(err) {
		return fmt.Errorf("%w: %q", idempotency.ErrHeld, key)
	}
	if err != nil {
		return fmt.Errorf("idempotency table %s: acquiring lease %q: %w", s.table, key, err)
	}
	return nil
}

// Release implements idempotency.Leases.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: leaseID(key)}},
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": AttrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}},
	})
	if conditionFailed(err) {
		return fmt.Errorf("%w: %q", idempotency.ErrNotOwner, key)
	}
	if err != nil {
		return fmt.Errorf("idempotency table %s: releasing lease %q: %w", s.table, key, err)
	}
	return nil
}

// Complete implements idempotency.Records.
func (s *Store) Complete(ctx context.Context, key string, ttl time.Duration) error {
	item := expiry(s.now().Add(ttl))
	item[AttrID] = &types.AttributeValueMemberS{Value: recordID(key)}
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("idempotency table %s: recording %q done: %w", s.table, key, err)
	}
	return nil
}

// Completed implements idempotency.Records.
func (s *Store) Completed(ctx context.Context, key string) (bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: recordID(key)}},
		ConsistentRead:           aws.Bool(true), // a record written a moment ago by another delivery counts
		ProjectionExpression:     aws.String("#until"),
		ExpressionAttributeNames: map[string]string{"#until": AttrUntil},
	})
	if err != nil {
		return false, fmt.Errorf("idempotency table %s: reading record %q: %w", s.table, key, err)
	}
	n, ok := out.Item[AttrUntil].(*types.AttributeValueMemberN)
	if !ok {
		return false, nil
	}
	until, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return false, fmt.Errorf("idempotency table %s: record %q has until %q: %w", s.table, key, n.Value, err)
	}
	return until > s.now().UnixMilli(), nil
}

// AttrRecords is a claim item's map of record → expiry (Unix milliseconds).
const AttrRecords = "records"

var _ idempotency.Claims = (*Store)(nil)

func claimID(key string) string { return "claim#" + key }

// ttlSeconds is the TTL attribute for an item to keep until t.
func ttlSeconds(t time.Time) types.AttributeValue {
	return expiry(t)[AttrExpiresAt]
}

// Claim implements idempotency.Claims: one conditional UpdateItem that takes the lease
// (no owner, or expired, or ours) and returns the item, its records included.
func (s *Store) Claim(ctx context.Context, key, owner string, ttl, remember time.Duration, record string) (idempotency.Claim, error) {
	now := s.now()
	out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: claimID(key)}},
		UpdateExpression:    aws.String("SET #owner = :owner, #until = :until, #exp = :exp, #records = if_not_exists(#records, :empty)"),
		ConditionExpression: aws.String("attribute_not_exists(#owner) OR #until <= :now OR #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#owner": AttrOwner, "#until": AttrUntil, "#exp": AttrExpiresAt,
			"#records": AttrRecords},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": &types.AttributeValueMemberS{Value: owner},
			":until": millis(now.Add(ttl)),
			":exp":   ttlSeconds(now.Add(max(ttl, remember))),
			":now":   millis(now),
			":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return idempotency.Claim{}, fmt.Errorf("%w: %q", idempotency.ErrHeld, key)
	}
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("idempotency table %s: claiming %q: %w", s.table, key, err)
	}
	records := map[string]time.Time{}
	if m, ok := out.Attributes[AttrRecords].(*types.AttributeValueMemberM); ok {
		for name, v := range m.Value {
			if n, ok := v.(*types.AttributeValueMemberN); ok {
				if ms, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
					records[name] = time.UnixMilli(ms)
				}
			}
		}
	}
	until, ok := records[record]
	expired, oldest := idempotency.StaleRecords(records, now)
	return idempotency.Claim{Key: key, Owner: owner, Remember: remember, Done: record != "" && ok && until.After(now),
		Expired: expired, Oldest: oldest}, nil
}

// Finish implements idempotency.Claims: one conditional UpdateItem (ours) that removes
// the lease and the stale records and adds the record; when the lease is no longer ours,
// a second, unconditional one adds the record alone.
func (s *Store) Finish(ctx context.Context, c idempotency.Claim, record string) error {
	now := s.now()
	names := map[string]string{"#owner": AttrOwner, "#until": AttrUntil, "#exp": AttrExpiresAt}
	values := map[string]types.AttributeValue{
		":owner": &types.AttributeValueMemberS{Value: c.Owner},
		":exp":   ttlSeconds(now.Add(c.Remember)),
	}
	set := []string{"#exp = :exp"}
	if record != "" {
		names["#records"], names["#r"] = AttrRecords, record
		values[":r"] = millis(now.Add(c.Remember))
		set = append(set, "#records.#r = :r")
	}
	remove := []string{"#owner", "#until"}
	for i, name := range c.Removed(record) {
		n := fmt.Sprintf("#s%d", i)
		names["#records"], names[n] = AttrRecords, name
		remove = append(remove, "#records."+n)
	}
	key := map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: claimID(c.Key)}}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key,
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ") + " REMOVE " + strings.Join(remove, ", ")),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		// A refusal returns the item, so that a retry of a finish that took effect (the
		// SDK retries when an answer is lost) is told from a lost lease without a read.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return fmt.Errorf("idempotency table %s: finishing %q: %w", s.table, c.Key, err)
	}
	if finished(ccf.Item, record) {
		return nil
	}
	if record != "" {
		// The lease was lost (it outlived its ttl and was taken over): the effect
		// happened all the same, so the record is written on its own.
		if _, rerr := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key,
			UpdateExpression:          aws.String("SET #records.#r = :r"),
			ExpressionAttributeNames:  map[string]string{"#records": AttrRecords, "#r": record},
			ExpressionAttributeValues: map[string]types.AttributeValue{":r": millis(now.Add(c.Remember))},
		}); rerr != nil {
			return fmt.Errorf("%w: %q (and recording %q done: %w)", idempotency.ErrNotOwner, c.Key, record, rerr)
		}
	}
	return fmt.Errorf("%w: %q", idempotency.ErrNotOwner, c.Key)
}

// finished reports whether item (a claim's, as a refused Finish returned it) shows a
// finish already done: no owner, and record (if any) among its records. Another owner
// may have claimed and finished since; the record then still shows this delivery done.
func finished(item map[string]types.AttributeValue, record string) bool {
	if item == nil {
		return false
	}
	if _, owned := item[AttrOwner]; owned {
		return false
	}
	if record == "" {
		return true
	}
	m, ok := item[AttrRecords].(*types.AttributeValueMemberM)
	return ok && m.Value[record] != nil
}
