package eventpattern

import (
	"encoding/json"
	"errors"
)

// DecodeEvent decodes an event's JSON object for MatchEvent. Numbers stay json.Number:
// event-ruler compares a number by value only when a float64 holds it exactly, and by
// its text otherwise.
func DecodeEvent(event []byte) (map[string]any, error) {
	v, err := decodeJSON(event)
	if err != nil {
		return nil, errors.New("eventpattern: event is not valid JSON: " + err.Error())
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("eventpattern: event must be a JSON object, got " + kindOf(v))
	}
	return m, nil
}

// Match reports whether an event (a JSON object) matches the pattern. To test one event
// against many patterns, decode it once with DecodeEvent and use MatchEvent.
func (p *Pattern) Match(event []byte) (bool, error) {
	m, err := DecodeEvent(event)
	if err != nil {
		return false, err
	}
	return p.MatchEvent(m), nil
}

// MatchEvent reports whether a decoded event matches the pattern. The event is read,
// never changed, so one decoded event may be matched by many goroutines at once. Values
// are those of encoding/json (map[string]any, []any, string, bool, nil, and json.Number
// or float64); a float64 has lost its written form and compares by value.
func (p *Pattern) MatchEvent(event map[string]any) bool {
	if p.alts != nil {
		for _, alt := range p.alts {
			if alt.match(event, event) {
				return true
			}
		}
		return false
	}
	return p.root.match(event, event)
}

// match checks an object pattern against an event object; ev is nil when the event has no
// object there, which only patterns made of exists:false can match. root is the whole
// event, where exists:false looks.
func (o *object) match(ev, root map[string]any) bool {
	for i := range o.fields {
		f := &o.fields[i]
		v, present := ev[f.name]
		if f.sub != nil {
			if !f.sub.matchValue(v, root) {
				return false
			}
			continue
		}
		if !matchLeaf(f, v, present, root) {
			return false
		}
	}
	if o.or != nil {
		for _, alt := range o.or {
			if alt.match(ev, root) {
				return true
			}
		}
		return false
	}
	return true
}

// matchValue applies an object pattern to an event value. An array must have one object
// element that matches on its own: fields never combine across elements.
func (o *object) matchValue(v any, root map[string]any) bool {
	switch t := v.(type) {
	case map[string]any:
		return o.match(t, root)
	case []any:
		found, ok := o.matchElements(t, root)
		if found {
			return ok
		}
	}
	return o.match(nil, root)
}

func (o *object) matchElements(arr []any, root map[string]any) (found, ok bool) {
	for _, e := range arr {
		switch t := e.(type) {
		case map[string]any:
			found = true
			if o.match(t, root) {
				return true, true
			}
		case []any:
			f, k := o.matchElements(t, root)
			if k {
				return true, true
			}
			found = found || f
		}
	}
	return found, false
}

// matchLeaf checks a pattern leaf against the event's value v there. exists:true holds
// when v holds a leaf value; exists:false when the field holds no leaf value anywhere in
// the event: event-ruler flattens every array on the way, so a field that one element of
// an array of objects has exists for the whole event.
func matchLeaf(f *field, v any, present bool, root map[string]any) bool {
	ms := f.leaf
	for i := range ms {
		m := &ms[i]
		if m.kind == exists {
			if m.b && present && hasLeaf(v) {
				return true
			}
			if !m.b && !hasLeafAt(root, f.keys) {
				return true
			}
			continue
		}
		if present && m.matchAny(v) {
			return true
		}
	}
	return false
}

// hasLeafAt reports whether the event holds a leaf value at the path keys, through every
// element of every array on the way.
func hasLeafAt(v any, keys []string) bool {
	switch t := v.(type) {
	case map[string]any:
		if len(keys) == 0 {
			return false
		}
		e, ok := t[keys[0]]
		if !ok {
			return false
		}
		if len(keys) == 1 {
			return hasLeaf(e)
		}
		return hasLeafAt(e, keys[1:])
	case []any:
		for _, e := range t {
			if hasLeafAt(e, keys) {
				return true
			}
		}
	}
	return false
}

// hasLeaf reports whether v holds a leaf value: objects are not leaves, arrays are
// flattened, and an empty array holds none.
func hasLeaf(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return false
	case []any:
		for _, e := range t {
			if hasLeaf(e) {
				return true
			}
		}
		return false
	}
	return true
}

type kind uint8

const (
	exactString kind = iota
	exactNumber
	exactBool
	exactNull
	exactPrefix
	foldPrefix
	exactSuffix
	foldSuffix
	equalsFold
	wildcardMatch
	numericRange
	exists
	cidr
	ipExact
	anythingBut
)

// matcher is one compiled match value of a pattern leaf.
type matcher struct {
	kind kind
	s    string  // string operand; an exact number's text as written
	f    float64 // an exact number's value
	b    bool    // exists's operand; for an exact number, whether it compares by value
	fold fold
	num  numRange
	wild *wildcard
	ip   *hexRange // cidr and ipExact
	but  *exclusion
}

// matchAny reports whether v, or any leaf inside it when it is an array, matches.
func (m *matcher) matchAny(v any) bool {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if m.matchAny(e) {
				return true
			}
		}
		return false
	case map[string]any:
		return false
	}
	return m.matchScalar(v)
}

func (m *matcher) matchScalar(v any) bool {
	switch m.kind {
	case exactString:
		s, ok := v.(string)
		return ok && s == m.s
	case exactNumber:
		// Equal texts match; otherwise numbers a float64 holds exactly match by value
		// (300 matches 300.0 and 3e2), as event-ruler compares them.
		if n, ok := v.(json.Number); ok && string(n) == m.s {
			return true
		}
		f, ok := number(v)
		return ok && m.b && f == m.f
	case exactBool:
		b, ok := v.(bool)
		return ok && b == m.b
	case exactNull:
		return v == nil
	case exactPrefix:
		s, ok := v.(string)
		return ok && len(s) >= len(m.s) && s[:len(m.s)] == m.s
	case exactSuffix:
		s, ok := v.(string)
		return ok && len(s) >= len(m.s) && s[len(s)-len(m.s):] == m.s
	case foldPrefix:
		s, ok := v.(string)
		return ok && m.fold.matchPrefix(s, false)
	case foldSuffix:
		s, ok := v.(string)
		return ok && m.fold.matchSuffix(s)
	case equalsFold:
		s, ok := v.(string)
		return ok && m.fold.matchPrefix(s, true)
	case wildcardMatch:
		s, ok := v.(string)
		return ok && m.wild.match(s)
	case numericRange:
		f, ok := number(v)
		return ok && m.num.contains(f)
	case cidr, ipExact:
		return m.ip.matchValue(v)
	case anythingBut:
		return !m.but.excludes(v)
	}
	return false
}

// number reads a JSON number however the event was decoded. A json.Number is a number
// only when a float64 holds it exactly (event-ruler compares no other by value).
func number(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		return comparable(string(t))
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	}
	return 0, false
}

// numRange is a numeric interval; "=" is the interval [n, n].
type numRange struct {
	lo, hi         float64
	loIncl, hiIncl bool
	beyond         bool // a bound event-ruler cannot take; Compile refuses it
}

func (r numRange) contains(f float64) bool {
	if f < r.lo || (f == r.lo && !r.loIncl) {
		return false
	}
	return f < r.hi || (f == r.hi && r.hiIncl)
}

// exclusion is what an anything-but refuses. Values of another type are never excluded:
// anything-but "x" matches 5, and anything-but 5 matches "5".
type exclusion struct {
	strs      []string
	nums      []float64
	folds     []fold
	prefix    string
	hasPrefix bool
	suffix    string
	hasSuffix bool
	wilds     []*wildcard
}

func (e *exclusion) excludes(v any) bool {
	if len(e.nums) > 0 {
		f, ok := number(v)
		if !ok {
			return false
		}
		for _, n := range e.nums {
			if f == n {
				return true
			}
		}
		return false
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	switch {
	case e.hasPrefix:
		return len(s) >= len(e.prefix) && s[:len(e.prefix)] == e.prefix
	case e.hasSuffix:
		return len(s) >= len(e.suffix) && s[len(s)-len(e.suffix):] == e.suffix
	}
	for _, x := range e.strs {
		if s == x {
			return true
		}
	}
	for _, x := range e.folds {
		if x.matchPrefix(s, true) {
			return true
		}
	}
	for _, w := range e.wilds {
		if w.match(s) {
			return true
		}
	}
	return false
}
