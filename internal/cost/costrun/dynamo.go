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
		case *types.AttributeValueMemberM:
			// A map: 3 bytes, plus each element's name, value and 1 byte.
			n += 3 + itemSize(x.Value) + len(x.Value)
		default:
			n += len(fmt.Sprint(v))
		}
	}
	return n
}

// readUnits: strongly consistent reads bill one unit per 4 KB, at least one.
func readUnits(size int) int { return max(1, (size+4095)/4096) }

// eventualReadUnits: an eventually consistent read bills half a unit per 4 KB; counted in
// whole units, rounded up (at most half a unit over, per call).
func eventualReadUnits(size int) int { return (readUnits(size) + 1) / 2 }

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
	if err := check(aws.ToString(in.ConditionExpression), old, in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
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
	if err := check(aws.ToString(in.ConditionExpression), old, in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	delete(t, key)
	return &dynamodb.DeleteItemOutput{}, nil
}

// UpdateItem applies the update expressions the claims write: SET of #a = :v,
// #a = if_not_exists(#a, :v) and #m.#k = :v (a key in a map attribute), and REMOVE of
// #a and #m.#k, under the condition; ReturnValues ALL_NEW and, on a refused condition,
// ReturnValuesOnConditionCheckFailure ALL_OLD. Billed as DynamoDB does: write units of
// the larger of the old and the new item, refused or not; bytes counted are the
// request's values.
func (d *dynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a call the SDK never sends: not billed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.table(in.TableName)
	key := keyOf(in.Key)
	old := t[key]
	next, err := applyUpdate(aws.ToString(in.UpdateExpression), old, in.Key, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		d.count("UpdateItem", 0, 0) // a refused request is still a request
		return nil, err
	}
	// Bytes: what the request writes (its values), not the item's size, which grows with
	// the records an entity's claim item keeps and so depends on how long the run is;
	// the units (what DynamoDB bills) are the item's, old or new, the larger.
	d.count("UpdateItem", writeUnits(max(itemSize(old), itemSize(next))), itemSize(in.ExpressionAttributeValues))
	ok, err := holds(aws.ToString(in.ConditionExpression), old, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if !ok {
		e := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
		if in.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld && old != nil {
			e.Item = deepCopy(old)
		}
		return nil, e
	}
	t[key] = next
	out := &dynamodb.UpdateItemOutput{}
	switch in.ReturnValues {
	case types.ReturnValueAllNew:
		out.Attributes = deepCopy(next)
	case types.ReturnValueAllOld:
		out.Attributes = deepCopy(old)
	case types.ReturnValueNone, "":
	default:
		return nil, fmt.Errorf("dynamodb twin: ReturnValues %q not understood", in.ReturnValues)
	}
	return out, nil
}

// deepCopy copies an item and its maps, so that stored items are never shared with
// a caller (DynamoDB hands out copies on the wire).
func deepCopy(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		if m, ok := v.(*types.AttributeValueMemberM); ok {
			v = &types.AttributeValueMemberM{Value: deepCopy(m.Value)}
		}
		out[k] = v
	}
	return out
}

// applyUpdate returns the item old (nil when absent, then created with key) with the
// update expression applied; old itself is left as it was.
func applyUpdate(expr string, old, key map[string]types.AttributeValue, names map[string]string, values map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	u := itemUpdate{old: old, item: deepCopy(old), names: names, values: values}
	if u.item == nil {
		u.item = deepCopy(key)
	}
	rest := strings.TrimSpace(expr)
	var set, remove string
	if s, ok := strings.CutPrefix(rest, "SET "); ok {
		set, remove, _ = strings.Cut(s, " REMOVE ")
	} else if r, ok := strings.CutPrefix(rest, "REMOVE "); ok {
		remove = r
	} else {
		return nil, invalidUpdate("%q not understood", expr)
	}
	if set != "" {
		for _, clause := range splitTop(set) {
			if err := u.set(clause); err != nil {
				return nil, err
			}
		}
	}
	if remove != "" {
		for _, p := range strings.Split(remove, ",") {
			if err := u.remove(p); err != nil {
				return nil, err
			}
		}
	}
	return u.item, nil
}

// itemUpdate is an update expression being applied to item, a copy of old.
type itemUpdate struct {
	old, item map[string]types.AttributeValue
	names     map[string]string
	values    map[string]types.AttributeValue
}

func invalidUpdate(format string, a ...any) error {
	return &smithyValidation{msg: fmt.Sprintf("Invalid UpdateExpression: "+format, a...)}
}

// name is an attribute name with its #placeholder resolved.
func (u *itemUpdate) name(s string) string {
	if n, ok := u.names[s]; ok {
		return n
	}
	return s
}

// path resolves "#a" or "#m.#k" to the map holding the last element and its name; below
// a missing map, nil (when not create: removing there is nothing to do) or an error.
func (u *itemUpdate) path(p string, create bool) (map[string]types.AttributeValue, string, error) {
	parts := strings.Split(strings.TrimSpace(p), ".")
	m := u.item
	for _, part := range parts[:len(parts)-1] {
		inner, ok := m[u.name(part)].(*types.AttributeValueMemberM)
		if !ok {
			if !create {
				return nil, "", nil
			}
			return nil, "", &smithyValidation{msg: "The document path provided in the update expression is invalid for update"}
		}
		m = inner.Value
	}
	return m, u.name(parts[len(parts)-1]), nil
}

// set applies one SET clause: "path = :v" or "path = if_not_exists(#a, :v)".
func (u *itemUpdate) set(clause string) error {
	target, operand, ok := strings.Cut(clause, "=")
	if !ok {
		return invalidUpdate("%q not understood", clause)
	}
	m, attr, err := u.path(target, true)
	if err != nil {
		return err
	}
	v, err := u.operand(strings.TrimSpace(operand))
	if err != nil {
		return err
	}
	if mv, ok := v.(*types.AttributeValueMemberM); ok {
		v = &types.AttributeValueMemberM{Value: deepCopy(mv.Value)}
	}
	m[attr] = v
	return nil
}

// operand is the value a SET clause sets: a :value, or if_not_exists's attribute of the
// old item (a top-level one) or else its :value.
func (u *itemUpdate) operand(operand string) (types.AttributeValue, error) {
	var v types.AttributeValue
	if inner, ok := strings.CutPrefix(operand, "if_not_exists("); ok {
		a, b, ok := strings.Cut(strings.TrimSuffix(inner, ")"), ",")
		if !ok {
			return nil, invalidUpdate("%q not understood", operand)
		}
		if cur, exists := u.old[u.name(strings.TrimSpace(a))]; exists && !strings.Contains(a, ".") {
			v = cur
		} else {
			v = u.values[strings.TrimSpace(b)]
		}
	} else {
		v = u.values[operand]
	}
	if v == nil {
		return nil, invalidUpdate("value %q not given", operand)
	}
	return v, nil
}

// remove applies one REMOVE path.
func (u *itemUpdate) remove(p string) error {
	m, attr, err := u.path(p, false)
	if err != nil {
		return err
	}
	if m != nil {
		delete(m, attr)
	}
	return nil
}

// splitTop splits a list of clauses at the commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// smithyValidation is the ValidationException DynamoDB answers a bad request with.
type smithyValidation struct{ msg string }

func (e *smithyValidation) Error() string { return "ValidationException: " + e.msg }

// Scan answers one page of at most in.Limit items (1 MB when none), in key order;
// billed as reads of the page's total size (half, eventually consistent).
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
	units := readUnits(size)
	if !aws.ToBool(in.ConsistentRead) {
		units = eventualReadUnits(size)
	}
	d.count("Scan", units, size)
	return out, nil
}

// check is holds as DynamoDB answers it: a condition that does not hold is a
// ConditionalCheckFailedException.
func check(expr string, item map[string]types.AttributeValue, names map[string]string, values map[string]types.AttributeValue) error {
	ok, err := holds(expr, item, names, values)
	if err != nil {
		return err
	}
	if !ok {
		return &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	return nil
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
