package costrun

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dynamo is an in-memory twin of the DynamoDB calls the idempotency store and the entity
// state make (GetItem, PutItem, DeleteItem, Scan on one string partition key "id", with
// the condition expressions they use), counting each call and the capacity units
// DynamoDB on demand would bill for it. It answers as DynamoDB does, so the real
// adapters (internal/idempotency/dynamostore, internal/state/dynamostate) run on it.
type dynamo struct {
	mu     sync.Mutex
	tables map[string]map[string]map[string]types.AttributeValue
	count  func(op string, units int, bytes int)
}

func newDynamo(count func(op string, units, bytes int)) *dynamo {
	return &dynamo{tables: map[string]map[string]map[string]types.AttributeValue{}, count: count}
}

func (d *dynamo) table(name *string) map[string]map[string]types.AttributeValue {
	t := d.tables[aws.ToString(name)]
	if t == nil {
		t = map[string]map[string]types.AttributeValue{}
		d.tables[aws.ToString(name)] = t
	}
	return t
}

func keyOf(m map[string]types.AttributeValue) string {
	if s, ok := m["id"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// itemSize is an item's size as DynamoDB counts it: each attribute's name plus its
// value (a string's UTF-8 bytes; a number's (significant digits)/2 + 1 bytes; a boolean 1).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(x.Value)
		case *types.AttributeValueMemberN:
			digits := len(strings.TrimLeft(strings.TrimPrefix(x.Value, "-"), "0"))
			n += (digits+1)/2 + 1
		case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
			n++
		default:
			n += len(fmt.Sprint(v))
		}
	}
	return n
}

// readUnits: strongly consistent reads bill one unit per 4 KB, at least one.
func readUnits(size int) int { return max(1, (size+4095)/4096) }

// writeUnits: writes bill one unit per 1 KB of the larger of the old and new item.
func writeUnits(size int) int { return max(1, (size+1023)/1024) }

func (d *dynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a call the SDK never sends: not billed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	item := d.table(in.TableName)[keyOf(in.Key)]
	d.count("GetItem", readUnits(itemSize(item)), itemSize(item))
	if item == nil {
		return &dynamodb.GetItemOutput{}, nil
	}
	return &dynamodb.GetItemOutput{Item: item}, nil
}

func (d *dynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a call the SDK never sends: not billed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.table(in.TableName)
	key := keyOf(in.Item)
	old := t[key]
	d.count("PutItem", writeUnits(max(itemSize(old), itemSize(in.Item))), itemSize(in.Item))
	ok, err := holds(aws.ToString(in.ConditionExpression), old, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	t[key] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (d *dynamo) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a call the SDK never sends: not billed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.table(in.TableName)
	key := keyOf(in.Key)
	old := t[key]
	d.count("DeleteItem", writeUnits(itemSize(old)), 0)
	ok, err := holds(aws.ToString(in.ConditionExpression), old, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	delete(t, key)
	return &dynamodb.DeleteItemOutput{}, nil
}

// Scan answers one page of at most in.Limit items (1 MB when none), in key order;
// billed as reads of the page's total size.
func (d *dynamo) Scan(ctx context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a call the SDK never sends: not billed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.table(in.TableName)
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	start := 0
	if in.ExclusiveStartKey != nil {
		after := keyOf(in.ExclusiveStartKey)
		start, _ = slices.BinarySearch(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	limit := len(keys)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	out := &dynamodb.ScanOutput{}
	size := 0
	for i := start; i < len(keys) && len(out.Items) < limit && size < 1<<20; i++ {
		out.Items = append(out.Items, t[keys[i]])
		size += itemSize(t[keys[i]])
		if len(out.Items) == limit || size >= 1<<20 {
			if i+1 < len(keys) {
				out.LastEvaluatedKey = map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: keys[i]}}
			}
		}
	}
	out.Count = int32(len(out.Items))
	d.count("Scan", readUnits(size), size)
	return out, nil
}

// holds evaluates the condition expressions the adapters write: terms joined by OR, each
// attribute_not_exists(#a), #a = :v or #a <= :v. Anything else is an error, so a new
// form is noticed rather than mis-evaluated.
func holds(expr string, item map[string]types.AttributeValue, names map[string]string, values map[string]types.AttributeValue) (bool, error) {
	if strings.TrimSpace(expr) == "" {
		return true, nil
	}
	name := func(s string) string {
		if n, ok := names[s]; ok {
			return n
		}
		return s
	}
	for _, term := range strings.Split(expr, " OR ") {
		term = strings.TrimSpace(term)
		if inner, ok := strings.CutPrefix(term, "attribute_not_exists("); ok {
			if _, exists := item[name(strings.TrimSuffix(inner, ")"))]; !exists {
				return true, nil
			}
			continue
		}
		var op string
		var a, b string
		switch {
		case strings.Contains(term, " <= "):
			op = "<="
			a, b, _ = strings.Cut(term, " <= ")
		case strings.Contains(term, " = "):
			op = "="
			a, b, _ = strings.Cut(term, " = ")
		default:
			return false, fmt.Errorf("dynamodb twin: condition %q not understood", term)
		}
		left, right := item[name(a)], values[b]
		if left == nil || right == nil {
			continue
		}
		if c, ok := compare(left, right); ok && (c == 0 || (op == "<=" && c < 0)) {
			return true, nil
		}
	}
	return false, nil
}

func compare(a, b types.AttributeValue) (int, bool) {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		if y, ok := b.(*types.AttributeValueMemberS); ok {
			return strings.Compare(x.Value, y.Value), true
		}
	case *types.AttributeValueMemberN:
		if y, ok := b.(*types.AttributeValueMemberN); ok {
			p, err1 := strconv.ParseFloat(x.Value, 64)
			q, err2 := strconv.ParseFloat(y.Value, 64)
			if err1 == nil && err2 == nil {
				switch {
				case p < q:
					return -1, true
				case p > q:
					return 1, true
				}
				return 0, true
			}
		}
	}
	return 0, false
}
