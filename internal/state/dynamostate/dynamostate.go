// Package dynamostate keeps the entity state in one DynamoDB table (template.yaml's
// EntityStateTable): partition key "id" (a string), "<entity>#<entity id>" for a record,
// "meta#baseline" for the baseline. A record is written with a conditional put (absent,
// or learned no later than this read), so an older read never overwrites a newer one.
// Times are Unix nanoseconds: two reads a microsecond apart still compare.
package dynamostate

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
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The table's attributes.
const (
	AttrID        = "id"        // partition key, string
	AttrEntity    = "entity"    // role, group, peer
	AttrEntityID  = "entityId"  // the entity's id
	AttrObject    = "object"    // the API's JSON, a string
	AttrHash      = "hash"      // state.HashOf(object)
	AttrDeleted   = "deleted"   // true on a tombstone
	AttrLearnedAt = "learnedAt" // Unix nanoseconds: what the condition compares
	AttrSource    = "source"    // webhook or reconcile
	AttrOrg       = "organization"
)

const baselineID = "meta#baseline"

// API is the part of *dynamodb.Client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var (
	_ API         = (*dynamodb.Client)(nil)
	_ state.Store = (*Store)(nil)
)

// Store is the DynamoDB entity state. It is safe for concurrent use.
type Store struct {
	api   API
	table string
	// ScanPage is the most items one Scan call asks for; 0 leaves it to DynamoDB (1 MB).
	ScanPage int32
}

// New makes a store on the table.
func New(api API, table string) *Store { return &Store{api: api, table: table} }

func itemID(e peerdom.Entity, id string) string { return string(e) + "#" + id }

func nanos(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixNano(), 10)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Put implements state.Store.
func (s *Store) Put(ctx context.Context, rec state.Record) (bool, error) {
	item := map[string]types.AttributeValue{
		AttrID:        str(itemID(rec.Entity, rec.ID)),
		AttrEntity:    str(string(rec.Entity)),
		AttrEntityID:  str(rec.ID),
		AttrLearnedAt: nanos(rec.LearnedAt),
		AttrSource:    str(string(rec.Source)),
		AttrDeleted:   &types.AttributeValueMemberBOOL{Value: rec.Deleted},
	}
	if len(rec.Object) > 0 {
		item[AttrObject] = str(string(rec.Object))
	}
	if rec.Hash != "" {
		item[AttrHash] = str(rec.Hash)
	}
	if rec.Organization != "" {
		item[AttrOrg] = str(rec.Organization)
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#id) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrID, "#at": AttrLearnedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": nanos(rec.LearnedAt)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state table %s: recording %s %s: %w", s.table, rec.Entity, rec.ID, err)
	}
	return true, nil
}

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, e peerdom.Entity, id string) (state.Record, bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrID: str(itemID(e, id))},
		ConsistentRead: aws.Bool(true), // a webhook's read of a moment ago counts
	})
	if err != nil {
		return state.Record{}, false, fmt.Errorf("state table %s: reading %s %s: %w", s.table, e, id, err)
	}
	if out.Item == nil {
		return state.Record{}, false, nil
	}
	rec, err := record(out.Item)
	if err != nil {
		return state.Record{}, false, fmt.Errorf("state table %s: %w", s.table, err)
	}
	return rec, true, nil
}

// All implements state.Store with a paged scan, eventually consistent: half the read
// units of a consistent one (reconciliation scans the whole table every run, its largest
// cost). A record written within the last moment (a webhook's, typically under a second
// before) may read as the one before it, as a record written while the scan runs
// already does: reconciliation may then publish a difference that webhook reported too,
// and its conditional write of the older read is refused, so the next run does not
// publish it again.
func (s *Store) All(ctx context.Context) ([]state.Record, error) {
	var out []state.Record
	in := &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(false)}
	if s.ScanPage > 0 {
		in.Limit = aws.Int32(s.ScanPage)
	}
	for {
		page, err := s.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("state table %s: scanning: %w", s.table, err)
		}
		for _, item := range page.Items {
			if id, _ := item[AttrID].(*types.AttributeValueMemberS); id != nil && strings.HasPrefix(id.Value, "meta#") {
				continue
			}
			rec, err := record(item)
			if err != nil {
				return nil, fmt.Errorf("state table %s: %w", s.table, err)
			}
			out = append(out, rec)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func record(item map[string]types.AttributeValue) (state.Record, error) {
	s := func(attr string) string {
		v, _ := item[attr].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	rec := state.Record{Entity: peerdom.Entity(s(AttrEntity)), ID: s(AttrEntityID), Hash: s(AttrHash), Source: state.Source(s(AttrSource)),
		Organization: s(AttrOrg)}
	if obj := s(AttrObject); obj != "" {
		rec.Object = []byte(obj)
	}
	if b, ok := item[AttrDeleted].(*types.AttributeValueMemberBOOL); ok {
		rec.Deleted = b.Value
	}
	n, ok := item[AttrLearnedAt].(*types.AttributeValueMemberN)
	if !ok {
		return rec, fmt.Errorf("item %s has no %s", s(AttrID), AttrLearnedAt)
	}
	ns, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return rec, fmt.Errorf("item %s has %s %q: %w", s(AttrID), AttrLearnedAt, n.Value, err)
	}
	rec.LearnedAt = time.Unix(0, ns).UTC()
	return rec, nil
}

// Baseline implements state.Store.
func (s *Store) Baseline(ctx context.Context) (time.Time, bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrID: str(baselineID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state table %s: reading the baseline: %w", s.table, err)
	}
	n, ok := out.Item[AttrLearnedAt].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false, nil
	}
	ns, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state table %s: baseline %q: %w", s.table, n.Value, err)
	}
	return time.Unix(0, ns).UTC(), true, nil
}

// SetBaseline implements state.Store: the first time stays.
func (s *Store) SetBaseline(ctx context.Context, t time.Time) error {
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     map[string]types.AttributeValue{AttrID: str(baselineID), AttrLearnedAt: nanos(t)},
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": AttrID},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("state table %s: recording the baseline: %w", s.table, err)
	}
	return nil
}

// CreateTable makes a table of the store's shape, as template.yaml's EntityStateTable
// declares it: for tests against moto and for local stacks.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrID), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrID), KeyType: types.KeyTypeHash}},
		SSESpecification:     &types.SSESpecification{Enabled: aws.Bool(true)},
	}); err != nil {
		return fmt.Errorf("creating state table %s: %w", name, err)
	}
	return nil
}
