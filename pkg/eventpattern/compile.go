package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Error says why a pattern is invalid and where.
type Error struct {
	// Path is where in the pattern the problem is, e.g. `detail.state[0]`; empty when
	// the pattern as a whole is wrong.
	Path string
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "eventpattern: invalid pattern: " + e.Reason
	}
	return "eventpattern: invalid pattern at " + e.Path + ": " + e.Reason
}

// Pattern is a compiled event pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	root *object
	// alts are the pattern's "$or" alternatives spelled out: each an object without
	// "$or", holding the fields outside the "$or" too; the pattern matches when one does.
	// nil for a pattern without "$or" (root is then the only one) or with too many.
	alts []*object
	text string
}

// String returns the pattern's JSON text as given to Compile.
func (p *Pattern) String() string { return p.text }

// Compile checks an event pattern (JSON) and prepares it for matching.
func Compile(pattern []byte) (*Pattern, error) {
	v, err := decodeJSON(pattern)
	if err != nil {
		return nil, &Error{Reason: "not valid JSON: " + err.Error()}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Reason: "a pattern must be a JSON object, got " + kindOf(v)}
	}
	root, err := compileObject(m, "", nil, false)
	if err != nil {
		return nil, err
	}
	if err := checkOrOverlap(m); err != nil {
		return nil, err
	}
	if err := firstBeyond(root, ""); err != nil {
		return nil, err
	}
	markNumericFields(root)
	p := &Pattern{root: root, text: string(pattern)}
	if hasOr(root) {
		p.alts = expand(root, new(int))
	}
	return p, nil
}

// MustCompile is Compile for patterns fixed in code; it panics on an invalid pattern.
func MustCompile(pattern string) *Pattern {
	p, err := Compile([]byte(pattern))
	if err != nil {
		panic(err)
	}
	return p
}

// decodeJSON reads exactly one JSON value, keeping numbers as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty input")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// object is a compiled pattern object: every field must match, and each $or group must
// have one matching alternative.
type object struct {
	fields []field
	or     []*object // alternatives of this object's "$or"; nil when it has none
}

// field is one named field of a pattern object: either a nested object or a leaf.
type field struct {
	name string
	sub  *object
	leaf []matcher
	// keys is the leaf's path from the event's root (through $or, which adds no step),
	// for exists:false, which looks at the whole event.
	keys []string
}

// operatorNames are the match operators; Event Ruler refuses them as field names inside
// $or, where a misplaced operator would otherwise be read silently as a field.
var operatorNames = map[string]bool{
	"prefix": true, "suffix": true, "equals-ignore-case": true, "wildcard": true,
	"anything-but": true, "numeric": true, "exists": true, "cidr": true,
}

func compileObject(m map[string]any, path string, keys []string, inOr bool) (*object, error) {
	if len(m) == 0 {
		return nil, &Error{Path: path, Reason: "empty objects are not allowed"}
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names) // deterministic errors and field order
	o := &object{}
	for _, name := range names {
		v := m[name]
		p := join(path, name)
		if name == "$or" {
			alts, err := compileOr(v, p, keys)
			if err != nil {
				return nil, err
			}
			o.or = alts
			continue
		}
		if inOr && operatorNames[name] {
			return nil, &Error{Path: p, Reason: fmt.Sprintf("%q is an operator, not allowed as a field name inside $or (put it inside a field's array)", name)}
		}
		k := append(keys[:len(keys):len(keys)], name)
		switch t := v.(type) {
		case map[string]any:
			sub, err := compileObject(t, p, k, inOr)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: name, sub: sub})
		case []any:
			leaf, err := compileLeaf(t, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: name, leaf: leaf, keys: k})
		default:
			return nil, &Error{Path: p, Reason: fmt.Sprintf("must be an object or an array of match values, got %s (write [%s])", kindOf(v), compactJSON(v))}
		}
	}
	return o, nil
}

func compileOr(v any, path string, keys []string) ([]*object, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, &Error{Path: path, Reason: "$or must be an array of pattern objects, got " + kindOf(v)}
	}
	if len(arr) < 2 {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("$or needs at least 2 alternatives, got %d", len(arr))}
	}
	alts := make([]*object, 0, len(arr))
	for i, a := range arr {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := a.(map[string]any)
		if !ok {
			return nil, &Error{Path: p, Reason: "each $or alternative must be an object, got " + kindOf(a)}
		}
		o, err := compileObject(m, p, keys, true)
		if err != nil {
			return nil, err
		}
		alts = append(alts, o)
	}
	return alts, nil
}

func compileLeaf(arr []any, path string) ([]matcher, error) {
	if len(arr) == 0 {
		return nil, &Error{Path: path, Reason: "empty arrays are not allowed (an empty list would match nothing)"}
	}
	out := make([]matcher, 0, len(arr))
	for i, v := range arr {
		p := fmt.Sprintf("%s[%d]", path, i)
		var m matcher
		switch t := v.(type) {
		case string:
			m = matcher{kind: exactString, s: t}
			if a, ok := parseIP(t); ok {
				// event-ruler reads a value written as an IP address as that address.
				m = matcher{kind: ipExact, ip: addrRange(a)}
			}
		case json.Number:
			f, ok := comparable(string(t))
			m = matcher{kind: exactNumber, s: t.String(), f: f, b: ok}
		case bool:
			m = matcher{kind: exactBool, b: t}
		case nil:
			m = matcher{kind: exactNull}
		case map[string]any:
			var err error
			if m, err = compileOperator(t, p); err != nil {
				return nil, err
			}
		default:
			return nil, &Error{Path: p, Reason: "a match value must be a string, number, true, false, null or an operator object, got " + kindOf(v)}
		}
		out = append(out, m)
	}
	return out, nil
}

func compileOperator(m map[string]any, path string) (matcher, error) {
	if len(m) != 1 {
		return matcher{}, &Error{Path: path, Reason: fmt.Sprintf("an operator object must have exactly one key, got %d", len(m))}
	}
	var op string
	var arg any
	for k, v := range m {
		op, arg = k, v
	}
	p := join(path, op)
	bad := func(format string, a ...any) (matcher, error) {
		return matcher{}, &Error{Path: p, Reason: fmt.Sprintf(format, a...)}
	}
	switch op {
	case "prefix", "suffix":
		plain, fold := exactPrefix, foldPrefix
		if op == "suffix" {
			plain, fold = exactSuffix, foldSuffix
		}
		switch t := arg.(type) {
		case string:
			return matcher{kind: plain, s: t}, nil
		case map[string]any:
			s, ok := t["equals-ignore-case"].(string)
			if len(t) != 1 || !ok {
				return bad(`%s takes a string or {"equals-ignore-case": "<string>"}`, op)
			}
			return matcher{kind: fold, fold: compileFold(s)}, nil
		}
		return bad("%s takes a string, got %s", op, kindOf(arg))
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return bad("equals-ignore-case takes a string, got %s", kindOf(arg))
		}
		return matcher{kind: equalsFold, fold: compileFold(s)}, nil
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return bad("wildcard takes a string, got %s", kindOf(arg))
		}
		w, err := compileWildcard(s)
		if err != nil {
			return bad("%v", err)
		}
		return matcher{kind: wildcardMatch, wild: w}, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return bad("exists takes true or false, got %s", kindOf(arg))
		}
		return matcher{kind: exists, b: b}, nil
	case "numeric":
		r, err := compileNumeric(arg)
		if err != nil {
			return bad("%v", err)
		}
		return matcher{kind: numericRange, num: r}, nil
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return bad("cidr takes a string such as \"10.0.0.0/24\", got %s", kindOf(arg))
		}
		pfx, err := parseCIDR(s)
		if err != nil {
			return bad("%v", err)
		}
		return matcher{kind: cidr, ip: prefixRange(pfx)}, nil
	case "anything-but":
		ab, err := compileAnythingBut(arg)
		if err != nil {
			return bad("%v", err)
		}
		return matcher{kind: anythingBut, but: ab}, nil
	}
	return matcher{}, &Error{Path: path, Reason: fmt.Sprintf("unknown operator %q (want prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists or cidr)", op)}
}

func compileAnythingBut(arg any) (*exclusion, error) {
	switch t := arg.(type) {
	case string:
		return &exclusion{strs: []string{t}}, nil
	case json.Number:
		f, err := comparableOperand(t)
		if err != nil {
			return nil, err
		}
		return &exclusion{nums: []float64{f}}, nil
	case []any:
		if len(t) == 0 {
			return nil, errors.New("anything-but list must not be empty")
		}
		ex := &exclusion{}
		for _, e := range t {
			switch v := e.(type) {
			case string:
				ex.strs = append(ex.strs, v)
			case json.Number:
				f, err := comparableOperand(v)
				if err != nil {
					return nil, err
				}
				ex.nums = append(ex.nums, f)
			default:
				return nil, fmt.Errorf("anything-but list values must be strings or numbers, got %s", kindOf(e))
			}
		}
		if len(ex.strs) > 0 && len(ex.nums) > 0 {
			return nil, errors.New("anything-but list must hold only strings or only numbers, not both")
		}
		return ex, nil
	case map[string]any:
		if len(t) != 1 {
			return nil, fmt.Errorf("anything-but object must have exactly one key, got %d", len(t))
		}
		for k, v := range t {
			switch k {
			case "prefix", "suffix":
				s, ok := v.(string)
				if !ok || s == "" {
					return nil, fmt.Errorf("anything-but %s takes a non-empty string", k)
				}
				if k == "prefix" {
					return &exclusion{prefix: s, hasPrefix: true}, nil
				}
				return &exclusion{suffix: s, hasSuffix: true}, nil
			case "equals-ignore-case":
				strs, err := stringOrStrings(v, "anything-but equals-ignore-case")
				if err != nil {
					return nil, err
				}
				ex := &exclusion{}
				for _, s := range strs {
					ex.folds = append(ex.folds, compileFold(s))
				}
				return ex, nil
			case "wildcard":
				strs, err := stringOrStrings(v, "anything-but wildcard")
				if err != nil {
					return nil, err
				}
				ex := &exclusion{}
				for _, s := range strs {
					w, err := compileWildcard(s)
					if err != nil {
						return nil, err
					}
					ex.wilds = append(ex.wilds, w)
				}
				return ex, nil
			}
			return nil, fmt.Errorf("anything-but does not take %q (want a value, a list, or prefix, suffix, equals-ignore-case, wildcard)", k)
		}
	}
	return nil, fmt.Errorf("anything-but takes a string, a number, a list of either, or an object, got %s", kindOf(arg))
}

func stringOrStrings(v any, what string) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		if len(t) == 0 {
			return nil, fmt.Errorf("%s list must not be empty", what)
		}
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s list values must be strings, got %s", what, kindOf(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s takes a string or a list of strings, got %s", what, kindOf(v))
}

// compileNumeric reads [op, n] or [">"|">=", low, "<"|"<=", high].
func compileNumeric(arg any) (numRange, error) {
	arr, ok := arg.([]any)
	if !ok {
		return numRange{}, fmt.Errorf("numeric takes an array such as [\">\", 0, \"<=\", 5], got %s", kindOf(arg))
	}
	if len(arr) != 2 && len(arr) != 4 {
		return numRange{}, fmt.Errorf("numeric takes one or two (operator, number) pairs, got %d elements", len(arr))
	}
	r := numRange{lo: math.Inf(-1), hi: math.Inf(1), loIncl: true, hiIncl: true}
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return numRange{}, fmt.Errorf("numeric element %d must be an operator (=, <, <=, >, >=), got %s", i, kindOf(arr[i]))
		}
		n, ok := arr[i+1].(json.Number)
		if !ok {
			return numRange{}, fmt.Errorf("numeric operand of %q must be a number, got %s", op, kindOf(arr[i+1]))
		}
		f, err := comparableOperand(n)
		if err != nil {
			return numRange{}, err
		}
		second := i == 2
		switch op {
		case "=":
			if len(arr) != 2 {
				return numRange{}, errors.New(`numeric "=" cannot be combined with another operator`)
			}
			r.lo, r.hi = f, f
		case ">", ">=":
			if second {
				return numRange{}, fmt.Errorf("numeric range must give the lower bound (> or >=) first, then the upper bound (< or <=); got %q second", op)
			}
			r.lo, r.loIncl = f, op == ">="
		case "<", "<=":
			if len(arr) == 4 && !second {
				return numRange{}, fmt.Errorf("numeric range must give the lower bound (> or >=) first, then the upper bound (< or <=); got %q first", op)
			}
			r.hi, r.hiIncl = f, op == "<="
		default:
			return numRange{}, fmt.Errorf("unknown numeric operator %q (want =, <, <=, >, >=)", op)
		}
	}
	if len(arr) == 4 && r.lo >= r.hi {
		// event-ruler refuses equal bounds too (">=", 5, "<=", 5): write ["=", 5].
		return numRange{}, errors.New(`numeric range is empty or a single number: the lower bound must be below the upper bound (for one number write ["=", n])`)
	}
	// event-ruler fails on these bounds (an index out of bounds) when it adds the rule,
	// after reading the whole pattern: Compile reports this after every other fault.
	r.beyond = (len(arr) == 4 || arr[0] != "=") && (r.lo == math.MaxFloat64 || r.hi == -math.MaxFloat64)
	return r, nil
}

// errBeyond is the reason for a numeric bound event-ruler cannot take.
const errBeyond = "numeric bound beyond the range EventBridge compares: the largest float64 cannot be a lower bound, nor its negative an upper bound"

// firstBeyond finds a numeric condition with a bound event-ruler cannot take.
func firstBeyond(o *object, path string) *Error {
	for _, f := range o.fields {
		p := join(path, f.name)
		if f.sub != nil {
			if err := firstBeyond(f.sub, p); err != nil {
				return err
			}
			continue
		}
		for i, m := range f.leaf {
			if m.kind == numericRange && m.num.beyond {
				return &Error{Path: fmt.Sprintf("%s[%d].numeric", p, i), Reason: errBeyond}
			}
		}
	}
	for i, alt := range o.or {
		if err := firstBeyond(alt, fmt.Sprintf("%s[%d]", join(path, "$or"), i)); err != nil {
			return err
		}
	}
	return nil
}

// comparableOperand reads a number event-ruler can compare: one a float64 holds exactly
// (as Java reads it: the shortest decimal that gives back the same double).
func comparableOperand(n json.Number) (float64, error) {
	f, ok := comparable(n.String())
	if !ok {
		return 0, fmt.Errorf("number %s cannot be compared: it is out of range or has more digits than a 64-bit float holds exactly", n)
	}
	return f, nil
}

// comparable reports whether a JSON number's text is one event-ruler compares by value:
// finite, and equal as a decimal to the decimal Java writes for the float64 it rounds to
// (the shortest that reads back the same, with at least two significant digits). So 300,
// 3e2 and 300.0 are; 9007199254740993 and 0.10000000000000001 are not.
func comparable(text string) (float64, bool) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	if len(text) <= 15 && !strings.ContainsAny(text, ".eE") {
		return f, true // an integer of at most 15 digits: every double holds it
	}
	short := strconv.FormatFloat(f, 'e', -1, 64)
	if !strings.Contains(short[:strings.IndexByte(short, 'e')], ".") {
		short = strconv.FormatFloat(f, 'e', 1, 64) // Java writes 5e-324 as 4.9E-324
	}
	var a, b big.Rat
	if _, ok := a.SetString(text); !ok {
		return 0, false
	}
	if _, ok := b.SetString(short); !ok {
		return 0, false
	}
	return f, a.Cmp(&b) == 0
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "..."
	}
	s := string(b)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strings.TrimSpace(s)
}
