package eventpattern

// What event-ruler (the matcher EventBridge is built on) does in its own way, written
// down here so that the package agrees with it: IP addresses, case folding, and which
// fields a rule with "$or" ends up holding.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// parseIP reads s as event-ruler reads an IP address: four dot-separated runs of digits
// (IPv4), or hex digits and colons with at least one colon (IPv6; no embedded IPv4
// dotted part). An IPv4-mapped IPv6 address is its IPv4 address, as in Java.
func parseIP(s string) (netip.Addr, bool) {
	switch {
	case looksIPv4(s):
		return parseIPv4(s)
	case looksIPv6(s):
		a, err := netip.ParseAddr(trimGroupZeros(s))
		if err != nil {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// parseIPv4 reads four decimal numbers up to 255 as Java does: leading zeros allowed
// (010.0.0.1 is 10.0.0.1), at most 15 characters in all.
func parseIPv4(s string) (netip.Addr, bool) {
	if len(s) > 15 {
		return netip.Addr{}, false
	}
	var b [4]byte
	part, n := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			b[part] = byte(n)
			part, n = part+1, 0
			continue
		}
		if n = n*10 + int(s[i]-'0'); n > 255 {
			return netip.Addr{}, false
		}
	}
	return netip.AddrFrom4(b), true
}

// trimGroupZeros drops the leading zeros of each IPv6 group beyond four digits, which
// Java accepts (::00001 is ::1) and Go does not.
func trimGroupZeros(s string) string {
	if len(s) < 5 {
		return s
	}
	groups := strings.Split(s, ":")
	changed := false
	for i, g := range groups {
		for len(g) > 4 && g[0] == '0' {
			g = g[1:]
			changed = true
		}
		groups[i] = g
	}
	if !changed {
		return s
	}
	return strings.Join(groups, ":")
}

func looksIPv4(s string) bool {
	groups, digits := 1, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && digits > 0:
			groups++
			digits = 0
		default:
			return false
		}
	}
	return groups == 4 && digits > 0
}

func looksIPv6(s string) bool {
	colon := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			colon = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return colon
}

// parseCIDR reads a cidr operand as event-ruler does. It refuses a /32 IPv4 (and /128
// IPv6) prefix, which is one address: the address written as a plain value matches it.
func parseCIDR(s string) (netip.Prefix, error) {
	parts := strings.Split(s, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // Java's split drops trailing empty parts
	}
	if len(parts) != 2 {
		return netip.Prefix{}, fmt.Errorf("cidr %q is malformed: write an address, one '/' and the mask bits, such as \"10.0.0.0/24\"", s)
	}
	bits, err := strconv.Atoi(parts[1])
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cidr %q: the mask bits must be an integer", s)
	}
	if bits < 0 {
		return netip.Prefix{}, fmt.Errorf("cidr %q: the mask bits must not be negative", s)
	}
	if !looksIPv4(parts[0]) && !looksIPv6(parts[0]) {
		return netip.Prefix{}, fmt.Errorf("cidr %q: %q is not an IPv4 or IPv6 address", s, parts[0])
	}
	a, ok := parseIP(parts[0])
	if !ok {
		return netip.Prefix{}, fmt.Errorf("cidr %q: %q is not a valid IP address", s, parts[0])
	}
	if a.Is4() && bits > 31 {
		return netip.Prefix{}, fmt.Errorf("cidr %q: IPv4 mask bits must be < 32 (for one address write the address as a value, [%q])", s, a.String())
	}
	if !a.Is4() && bits > 127 {
		return netip.Prefix{}, fmt.Errorf("cidr %q: IPv6 mask bits must be < 128 (for one address write the address as a value, [%q])", s, a.String())
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// fold is an equals-ignore-case operand as event-ruler compiles it: for each UTF-16 unit
// of the operand, the event must hold at that place its lower case or its upper case, as
// Java maps that one character (so "ß" matches "ß" or "SS", "K" matches "k" or "K" but not
// the Kelvin sign, "ǅ" matches "ǆ" or "Ǆ" but not itself). A character outside the Basic
// Multilingual Plane is two UTF-16 units, each of which Java encodes as "?": event-ruler
// matches such an operand only against question marks.
type fold []foldUnit

type foldUnit struct{ lower, upper string } // upper is "" when it is lower

func compileFold(s string) fold {
	f := make(fold, 0, len(s))
	for _, r := range s {
		if r > 0xFFFF {
			f = append(f, foldUnit{lower: "?"}, foldUnit{lower: "?"})
			continue
		}
		lo, up := string(unicode.ToLower(r)), string(unicode.ToUpper(r))
		if m, ok := javaCase[r]; ok {
			lo, up = m[0], m[1]
		}
		if lo == up {
			up = ""
		}
		f = append(f, foldUnit{lower: lo, upper: up})
	}
	return f
}

// matchPrefix reports whether s begins with the operand; whole: and ends with it.
func (f fold) matchPrefix(s string, whole bool) bool {
	if len(f) == 0 {
		return !whole || s == ""
	}
	u := f[0]
	if strings.HasPrefix(s, u.lower) && f[1:].matchPrefix(s[len(u.lower):], whole) {
		return true
	}
	return u.upper != "" && strings.HasPrefix(s, u.upper) && f[1:].matchPrefix(s[len(u.upper):], whole)
}

// matchSuffix reports whether s ends with the operand.
func (f fold) matchSuffix(s string) bool {
	if len(f) == 0 {
		return true
	}
	u := f[len(f)-1]
	if strings.HasSuffix(s, u.lower) && f[:len(f)-1].matchSuffix(s[:len(s)-len(u.lower)]) {
		return true
	}
	return u.upper != "" && strings.HasSuffix(s, u.upper) && f[:len(f)-1].matchSuffix(s[:len(s)-len(u.upper)])
}

// maxSubRules bounds the overlap check of checkOrOverlap (a pattern with nested $or
// expands into the product of its alternatives).
const maxSubRules = 4096

// checkOrOverlap refuses a pattern that names one field twice in what event-ruler makes
// one rule of: inside a "$or" alternative and outside it, in two nested "$or"s, or as
// "a.b" and as {"a": {"b": ...}}. event-ruler flattens a pattern into field paths and,
// for such a field, silently keeps whichever condition it read last (so the pattern's
// meaning would depend on the order of its keys) rather than requiring both.
func checkOrOverlap(m map[string]any) error {
	rules := subRules(m, "")
	for _, r := range rules {
		sort.Strings(r)
		for i := 1; i < len(r); i++ {
			if r[i] == r[i-1] {
				return &Error{Path: r[i], Reason: "this field is named twice in one alternative of the pattern (inside and outside \"$or\", in two nested \"$or\"s, or as a dotted name and as nested objects): the deployed rule would silently keep only one of the two conditions; write the field once in each \"$or\" alternative instead"}
			}
		}
	}
	return nil
}

// subRules lists, for each combination of "$or" alternatives, the flattened field paths
// the pattern names (with repeats); nil when there are more than maxSubRules.
func subRules(m map[string]any, prefix string) [][]string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	rules := [][]string{nil}
	for _, name := range names {
		var parts [][]string // what this field adds: one of them to each rule so far
		switch v := m[name].(type) {
		case []any:
			if name != "$or" {
				parts = [][]string{{prefix + name}}
				break
			}
			for _, alt := range v {
				am, _ := alt.(map[string]any)
				sub := subRules(am, prefix)
				if sub == nil {
					return nil
				}
				parts = append(parts, sub...)
			}
		case map[string]any:
			if parts = subRules(v, prefix+name+"."); parts == nil {
				return nil
			}
		}
		if len(rules)*len(parts) > maxSubRules {
			return nil // too many to check
		}
		next := make([][]string, 0, len(rules)*len(parts))
		for _, r := range rules {
			for _, p := range parts {
				next = append(next, append(r[:len(r):len(r)], p...))
			}
		}
		rules = next
	}
	return rules
}

// hexRange is an IP range as event-ruler matches it: the addresses written as upper-case
// hex digits (8 for IPv4, 32 for IPv6), and a value matches when its digits, read one by
// one, fall between the two ends. The walk stops as soon as the value is inside, so a
// longer value can match a shorter range (an IPv6 address whose first 32 bits are in an
// IPv4 range), and values that are not IP addresses are walked too: a JSON number by its
// text (5 is inside 10.0.0.0/0, whose ends are 00000000 and FFFFFFFF), unless the field
// also has a numeric condition and the number is one event-ruler compares by value.
type hexRange struct {
	lo, hi         string
	openLo, openHi bool
	numericField   bool // the pattern compares numbers at this field too
}

func hexDigits(a netip.Addr) string {
	const digits = "0123456789ABCDEF"
	b := a.AsSlice()
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xF])
	}
	return string(out)
}

// prefixRange is a cidr operand's range: its first and last address, both included.
func prefixRange(p netip.Prefix) *hexRange {
	lo := p.Masked().Addr()
	b := lo.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	hi, _ := netip.AddrFromSlice(b)
	return &hexRange{lo: hexDigits(lo), hi: hexDigits(hi)}
}

// addrRange is a plain value written as an IP address: that address, which event-ruler
// writes as a range from it to the next digit string (or from the one before), one end open.
func addrRange(a netip.Addr) *hexRange {
	d := []byte(hexDigits(a))
	last := len(d) - 1
	other := append([]byte(nil), d...)
	if d[last] == 'F' {
		other[last] = 'E'
		return &hexRange{lo: string(other), hi: string(d), openLo: true}
	}
	if d[last] == '9' {
		other[last] = 'A'
	} else {
		other[last]++
	}
	return &hexRange{lo: string(d), hi: string(other), openHi: true}
}

func (r *hexRange) matchValue(v any) bool {
	switch t := v.(type) {
	case string:
		a, ok := parseIP(t)
		return ok && r.match(hexDigits(a))
	case json.Number:
		if r.numericField {
			if _, ok := comparable(string(t)); ok {
				return false
			}
		}
		return r.match(string(t))
	}
	return false
}

func isHexDigit(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func (r *hexRange) match(v string) bool {
	onLo, onHi := true, true
	for i := 0; i < len(r.lo); i++ {
		if i >= len(v) || !isHexDigit(v[i]) {
			return false
		}
		c := v[i]
		switch {
		case onLo && onHi:
			switch {
			case c == r.lo[i] && c == r.hi[i]:
			case c > r.lo[i] && c < r.hi[i]:
				return true
			case c == r.lo[i]:
				onHi = false
			case c == r.hi[i]:
				onLo = false
			default:
				return false
			}
		case onLo:
			if c > r.lo[i] {
				return true
			}
			if c < r.lo[i] {
				return false
			}
		default:
			if c < r.hi[i] {
				return true
			}
			if c > r.hi[i] {
				return false
			}
		}
	}
	if onLo && onHi {
		return !r.openLo && !r.openHi
	}
	if onLo {
		return !r.openLo
	}
	return !r.openHi
}

// markNumericFields tells each IP range whether its field (by flattened path, across
// "$or" alternatives) also has a numeric condition: event-ruler then reads a number in the
// event at that field as a number only, never by its text.
func markNumericFields(root *object) {
	numeric := map[string]bool{}
	var walk func(o *object, set bool)
	walk = func(o *object, set bool) {
		for i := range o.fields {
			f := &o.fields[i]
			if f.sub != nil {
				walk(f.sub, set)
				continue
			}
			key := strings.Join(f.keys, ".")
			for j := range f.leaf {
				m := &f.leaf[j]
				switch {
				case !set && (m.kind == numericRange || m.kind == exactNumber && m.b || m.kind == anythingBut && len(m.but.nums) > 0):
					numeric[key] = true
				case set && m.ip != nil:
					m.ip.numericField = numeric[key]
				}
			}
		}
		for _, alt := range o.or {
			walk(alt, set)
		}
	}
	walk(root, false)
	walk(root, true)
}

// hasOr reports whether a compiled pattern holds a "$or" anywhere.
func hasOr(o *object) bool {
	if o.or != nil {
		return true
	}
	for _, f := range o.fields {
		if f.sub != nil && hasOr(f.sub) {
			return true
		}
	}
	return false
}

// expand spells a pattern's "$or"s out as event-ruler does: one object without "$or"
// for each choice of alternatives, holding the fields outside the "$or"s too, nested
// objects merged. Matching one such object keeps every field it names to one element
// of each array of objects on the way, the fields outside a "$or" included (matching the
// "$or" apart would let them come from different elements). It gives nil past
// maxSubRules objects in all (count), and the pattern is then matched "$or" by "$or".
func expand(o *object, count *int) []*object {
	out := []*object{{}}
	for _, f := range o.fields {
		if f.sub == nil {
			for _, b := range out {
				b.fields = append(b.fields, f)
			}
			continue
		}
		subs := expand(f.sub, count)
		if subs == nil {
			return nil
		}
		out = product(out, subs, func(b, s *object) *object {
			return &object{fields: append(b.fields[:len(b.fields):len(b.fields)], field{name: f.name, sub: s})}
		}, count)
		if out == nil {
			return nil
		}
	}
	if o.or == nil {
		return out
	}
	var alts []*object
	for _, alt := range o.or {
		e := expand(alt, count)
		if e == nil {
			return nil
		}
		alts = append(alts, e...)
	}
	return product(out, alts, merge, count)
}

// product combines each of bs with each of as; nil past maxSubRules in all.
func product(bs, as []*object, combine func(b, a *object) *object, count *int) []*object {
	if *count += len(bs) * len(as); *count > maxSubRules {
		return nil
	}
	out := make([]*object, 0, len(bs)*len(as))
	for _, b := range bs {
		for _, a := range as {
			out = append(out, combine(b, a))
		}
	}
	return out
}

// merge joins two objects without "$or": a nested object both name becomes one object
// with the fields of both.
func merge(b, a *object) *object {
	m := &object{fields: append([]field(nil), b.fields...)}
	for _, f := range a.fields {
		i := -1
		if f.sub != nil {
			for j := range m.fields {
				if m.fields[j].name == f.name && m.fields[j].sub != nil {
					i = j
					break
				}
			}
		}
		if i < 0 {
			m.fields = append(m.fields, f)
			continue
		}
		m.fields[i] = field{name: f.name, sub: merge(m.fields[i].sub, f.sub)}
	}
	return m
}
