package eventrulercorpus

import (
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type gen struct{ r *rand.Rand }

func (g *gen) n(k int) int         { return g.r.IntN(k) }
func (g *gen) p(f float64) bool    { return g.r.Float64() < f }
func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// strs are event strings: plain, empty, case variants, unicode (with case pairs that fold
// differently rune by rune), wildcard and escape characters, IP addresses, digits.
var strs = []string{
	"", " ", "a", "A", "running", "Running", "RUNNING", "run", "stopped", "pending",
	"Peer Created", "Role Updated", "peer created", "peerdom", "aws.ec2",
	"jane@example.com", "Jane@Example.COM", "bot@acme.example",
	"Straße", "STRASSE", "straße", "ǅemal", "Ǆemal", "ǆemal", "Kelvin", "Kelvin", "kelvin",
	"İstanbul", "istanbul", "ıstanbul", "Σίσυφος", "ΣΊΣΥΦΟΣ", "σίσυφοσ", "日本語テキスト", "日本",
	"emoji 😀 here", "😀", "ﬀ", "FF", "café", "cafe\u0301", "CAFÉ", "ÅngstrÖm", "ångström",
	"a*b", "a\\b", "*", "\\", "x\"y", "tab\there", "line\nbreak", "a.b", "$or",
	"10.0.0.1", "10.0.0.255", "10.0.1.7", "10.1.2.3", "192.168.1.7", "192.168.1.255", "172.16.0.1",
	"0.0.0.0", "255.255.255.255", "2001:db8::1", "2001:db8::ffff", "2001:db9::1", "::1", "::ffff:10.0.0.1",
	"010.0.0.1", "10.000.0.01", "0000000010.0.0.1", "::00001", "0:0:0:0:0:0:0:1", "2001:DB8:0::1", "::ffff:a00:1", "a00::1", "??",
	"300", "300.0", "3e2", "true", "null", "-1.5", "0",
	"arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0",
	"https://app.peerdom.org/acme/map/3f2b/role/9c1e", "photo.PNG", "photo.png", "/usr/lib/x.so",
}

// nums are event numbers as written: several notations of the same values, extremes,
// and numbers no double holds exactly.
var nums = []string{
	"0", "-0", "0.0", "0e0", "5", "5.0", "5e0", "50e-1", "0.5e1", "5.00",
	"300", "300.0", "3e2", "3E2", "3.0e2", "3e+2", "300.000", "30e1", "299.99999", "300.00001", "301",
	"-1.5", "-1.50", "-15e-1", "-1", "-2", "1", "2", "2.5", "25e-1", "0.1", "1e-1", "0.2", "0.30000000000000004",
	"1e9", "1000000000", "1E9", "5e9", "5000000000", "5000000001", "-5e9", "123456789012", "1e-7", "0.0000001",
	"1.7976931348623157e308", "-1.7976931348623157e308", "4.9e-324", "1.00000000000000001", "9007199254740993",
	"100", "1e2", "100.0", "10", "20", "20.5", "-0.0", "1e21",
}

var names = []string{"state", "count", "price", "ip", "name", "email", "tags", "items", "note", "id",
	"flag", "size", "ünï", "日本", "Code", "code", "ref", "source", "version"}

// ------------------------------------------------------------------ events

func (g *gen) scalar() any {
	switch g.n(10) {
	case 0, 1, 2, 3, 4:
		return pick(g, strs)
	case 5, 6, 7:
		return json.Number(pick(g, nums))
	case 8:
		return g.p(0.5)
	}
	return nil
}

func (g *gen) value(depth int) any {
	k := g.n(12)
	if depth >= 3 && k >= 8 {
		k = g.n(8)
	}
	switch {
	case k < 6:
		return g.scalar()
	case k == 6:
		a := make([]any, g.n(4)) // empty arrays too
		for i := range a {
			a[i] = g.scalar()
		}
		return a
	case k == 7:
		if g.p(0.15) {
			return []any{g.scalar(), []any{g.scalar(), g.scalar()}} // a nested array
		}
		return []any{g.scalar(), g.scalar(), g.scalar()}
	case k < 10:
		return g.object(depth + 1)
	}
	// An array of objects, sharing field names so that patterns meet them in some
	// elements and not in others.
	a := make([]any, 1+g.n(3))
	base := g.object(depth + 1)
	for i := range a {
		o := map[string]any{}
		keys := make([]string, 0, len(base))
		for k := range base {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := base[k]
			if g.p(0.6) {
				o[k] = v
			} else if g.p(0.5) {
				o[k] = g.scalar()
			}
		}
		a[i] = o
	}
	return a
}

func (g *gen) object(depth int) map[string]any {
	o := map[string]any{}
	for i := 1 + g.n(4); i > 0; i-- {
		o[pick(g, names)] = g.value(depth)
	}
	return o
}

func (g *gen) event() map[string]any {
	return map[string]any{
		"version":     "0",
		"id":          "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		"detail-type": pick(g, []string{"Peer Created", "Role Updated", "peer created", "EC2 Instance State-change Notification", ""}),
		"source":      pick(g, []string{"peerdom", "aws.ec2", "Peerdom", "custom.ünï"}),
		"account":     "123456789012",
		"time":        "2026-03-02T10:00:00Z",
		"region":      pick(g, []string{"us-east-1", "eu-central-2"}),
		"resources":   []any{pick(g, strs)},
		"detail":      g.object(1),
	}
}

// ------------------------------------------------------------------ paths

// leaves lists the paths to every value of an object, through arrays of objects, and
// the values found there (scalars, flattened from arrays).
type leafAt struct {
	path []string
	vals []any
	obj  bool // an object (or array of objects) is found there
}

func collect(v any, path []string, out map[string]*leafAt) {
	key := strings.Join(path, "\x00")
	add := func() *leafAt {
		l := out[key]
		if l == nil {
			l = &leafAt{path: append([]string(nil), path...)}
			out[key] = l
		}
		return l
	}
	switch t := v.(type) {
	case map[string]any:
		if len(path) > 0 {
			add().obj = true
		}
		for k, e := range t {
			collect(e, append(path, k), out)
		}
	case []any:
		l := add()
		for _, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				collect(e, path, out)
			default:
				l.vals = append(l.vals, e)
			}
		}
	default:
		l := add()
		l.vals = append(l.vals, v)
	}
}

func (g *gen) leaves(ev map[string]any) []*leafAt {
	m := map[string]*leafAt{}
	collect(ev, nil, m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*leafAt, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// ------------------------------------------------------------------ patterns

func (g *gen) group() Group {
	ev := g.event()
	ls := g.leaves(ev)
	pat := map[string]any{}
	var used [][]string
	for i := 1 + g.n(3); i > 0; i-- {
		l := pick(g, ls)
		used = append(used, l.path)
		if l.obj && len(l.vals) == 0 && !g.p(0.3) {
			continue // an object: its leaves are in ls too
		}
		put(pat, l.path, g.leaf(l))
	}
	if g.p(0.2) {
		// $or at the root or inside detail: alternatives drawn from the same leaves.
		alts := make([]any, 2+g.n(2))
		for i := range alts {
			alt := map[string]any{}
			for j := 1 + g.n(2); j > 0; j-- {
				l := pick(g, ls)
				used = append(used, l.path)
				put(alt, l.path, g.leaf(l))
			}
			alts[i] = alt
		}
		if g.p(0.5) {
			pat["$or"] = alts
		} else {
			for i, a := range alts {
				if d, ok := a.(map[string]any)["detail"]; ok {
					alts[i] = d
				}
			}
			if d, ok := pat["detail"].(map[string]any); ok {
				d["$or"] = alts
			} else {
				pat["detail"] = map[string]any{"$or": alts}
			}
		}
	}
	if len(pat) == 0 {
		pat["source"] = []any{ev["source"]}
	}
	if g.p(0.04) {
		g.breakPattern(pat)
	}
	events := []string{Marshal(ev)}
	for len(events) < EventsPerGroup {
		e := clone(ev).(map[string]any)
		for k := 1 + g.n(2); k > 0; k-- {
			path := pick(g, used)
			if g.p(0.2) {
				path = pick(g, ls).path
			}
			g.mutate(e, path)
		}
		events = append(events, Marshal(e))
	}
	return Group{Pattern: Marshal(pat), Events: events}
}

// put sets a leaf at a path of nested pattern objects; a path that runs into a leaf
// already set keeps the first.
func put(pat map[string]any, path []string, leaf []any) {
	o := pat
	for _, k := range path[:len(path)-1] {
		sub, ok := o[k].(map[string]any)
		if !ok {
			if _, taken := o[k]; taken {
				return
			}
			sub = map[string]any{}
			o[k] = sub
		}
		o = sub
	}
	last := path[len(path)-1]
	if _, taken := o[last]; taken {
		return
	}
	o[last] = leaf
}

// breakPattern makes a pattern invalid in one of the ways users do.
func (g *gen) breakPattern(pat map[string]any) {
	switch g.n(7) {
	case 0:
		pat["detail-type"] = "Peer Created" // a leaf that is not an array
	case 1:
		pat["source"] = []any{}
	case 2:
		pat["detail"] = map[string]any{}
	case 3:
		pat["source"] = []any{map[string]any{"prefix": "p", "suffix": "m"}}
	case 4:
		pat["source"] = []any{map[string]any{"begins-with": "p"}}
	case 5:
		pat["$or"] = []any{map[string]any{"source": []any{"a"}}}
	case 6:
		pat["source"] = []any{[]any{"nested"}}
	}
}

func (g *gen) leaf(l *leafAt) []any {
	out := make([]any, 0, 3)
	for i := 1 + g.n(3); i > 0 && len(out) < 3; i-- {
		var v any
		if len(l.vals) > 0 && g.p(0.85) {
			v = pick(g, l.vals)
		} else {
			v = g.scalar()
		}
		out = append(out, g.matchValue(v))
		if g.p(0.5) {
			break
		}
	}
	return out
}

func (g *gen) matchValue(v any) any {
	if g.p(0.08) {
		return map[string]any{"exists": g.p(0.5)}
	}
	switch t := v.(type) {
	case string:
		return g.stringOp(t)
	case json.Number:
		return g.numberOp(string(t))
	case bool:
		switch g.n(4) {
		case 0:
			return !t
		case 1:
			return strconv.FormatBool(t)
		case 2:
			return map[string]any{"anything-but": pick(g, []any{"x", json.Number("1"), []any{"true", "false"}})}
		}
		return t
	case nil:
		switch g.n(4) {
		case 0:
			return "null"
		case 1:
			return ""
		case 2:
			return map[string]any{"anything-but": "x"}
		}
		return nil
	}
	return v
}

func runes(s string) []rune { return []rune(s) }

func (g *gen) cut(s string, fromEnd bool) string {
	r := runes(s)
	k := g.n(len(r) + 1)
	if fromEnd {
		return string(r[len(r)-k:])
	}
	return string(r[:k])
}

func (g *gen) recase(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch g.n(3) {
		case 0:
			b.WriteString(strings.ToUpper(string(c)))
		case 1:
			b.WriteString(strings.ToLower(string(c)))
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// wild makes a wildcard from s: stars in place of some runs, escapes for literal stars
// and backslashes, and now and then a mistake.
func (g *gen) wild(s string) string {
	var b strings.Builder
	prevStar := false
	for _, c := range s {
		switch {
		case c == '*' || c == '\\':
			if g.p(0.15) {
				b.WriteRune(c) // unescaped: a star, or a bad escape
			} else {
				b.WriteByte('\\')
				b.WriteRune(c)
			}
			prevStar = false
		case g.p(0.2):
			if !prevStar || g.p(0.1) {
				b.WriteByte('*')
				prevStar = true
			}
		default:
			b.WriteRune(c)
			prevStar = false
		}
	}
	if g.p(0.2) {
		return "*" + b.String()
	}
	if g.p(0.2) {
		return b.String() + "*"
	}
	return b.String()
}

func (g *gen) otherString(s string) string {
	if g.p(0.5) {
		return g.recase(s)
	}
	return pick(g, strs)
}

func (g *gen) stringOp(s string) any {
	switch g.n(22) {
	case 0, 1:
		return s
	case 2:
		return g.otherString(s)
	case 3:
		return map[string]any{"prefix": g.cut(s, false)}
	case 4:
		return map[string]any{"suffix": g.cut(s, true)}
	case 5:
		return map[string]any{"prefix": map[string]any{"equals-ignore-case": g.recase(g.cut(s, false))}}
	case 6:
		return map[string]any{"suffix": map[string]any{"equals-ignore-case": g.recase(g.cut(s, true))}}
	case 7, 8:
		return map[string]any{"equals-ignore-case": g.recase(s)}
	case 9, 10:
		return map[string]any{"wildcard": g.wild(s)}
	case 11:
		return map[string]any{"anything-but": s}
	case 12:
		l := []any{s, g.otherString(s)}
		if g.p(0.1) {
			l = append(l, json.Number(pick(g, nums))) // mixed: invalid
		}
		return map[string]any{"anything-but": l}
	case 13:
		return map[string]any{"anything-but": map[string]any{"prefix": g.cut(s, false)}}
	case 14:
		return map[string]any{"anything-but": map[string]any{"suffix": g.cut(s, true)}}
	case 15:
		var a any = g.recase(s)
		if g.p(0.5) {
			a = []any{g.recase(s), g.otherString(s)}
		}
		return map[string]any{"anything-but": map[string]any{"equals-ignore-case": a}}
	case 16:
		var a any = g.wild(s)
		if g.p(0.4) {
			a = []any{g.wild(s), g.wild(pick(g, strs))}
		}
		return map[string]any{"anything-but": map[string]any{"wildcard": a}}
	case 17, 18:
		if !strings.ContainsAny(s, ".:") && g.p(0.7) {
			return map[string]any{"equals-ignore-case": s}
		}
		return map[string]any{"cidr": g.cidr(s)}
	case 19:
		return map[string]any{"numeric": []any{">", json.Number(pick(g, nums))}}
	case 20:
		return json.Number(pick(g, nums))
	}
	return map[string]any{"exists": g.p(0.7)}
}

func (g *gen) cidr(s string) string {
	if !strings.ContainsAny(s, ".:") || strings.ContainsAny(s, "-ZTabcdefghijklmnopqrstuvwxyz") && !strings.Contains(s, "::") || g.p(0.2) {
		s = pick(g, []string{"10.0.0.1", "10.0.0.0", "192.168.1.0", "2001:db8::", "10.0.0.256", "::ffff:10.0.0.0"})
	}
	var bits []int
	if strings.Contains(s, ":") {
		bits = []int{0, 16, 32, 64, 96, 120, 127, 128, 129}
	} else {
		bits = []int{0, 1, 8, 16, 24, 30, 31, 32, 33}
	}
	if g.p(0.05) {
		return s // no prefix length
	}
	return s + "/" + strconv.Itoa(pick(g, bits))
}

func (g *gen) numberOp(n string) any {
	f, _ := strconv.ParseFloat(n, 64)
	other := func() json.Number {
		if g.p(0.5) {
			return json.Number(pick(g, nums))
		}
		return json.Number(renote(g, f, n))
	}
	cmp := []string{"<", "<=", ">", ">=", "="}
	switch g.n(14) {
	case 0, 1:
		return json.Number(n)
	case 2, 3:
		return other()
	case 4:
		return map[string]any{"numeric": []any{pick(g, cmp), other()}}
	case 5, 6:
		lo, hi := other(), other()
		return map[string]any{"numeric": []any{pick(g, []string{">", ">="}), lo, pick(g, []string{"<", "<="}), hi}}
	case 7:
		return map[string]any{"numeric": []any{">=", json.Number(n), "<=", other()}}
	case 8:
		return map[string]any{"anything-but": json.Number(n)}
	case 9:
		return map[string]any{"anything-but": other()}
	case 10:
		return map[string]any{"anything-but": []any{other(), other()}}
	case 11:
		return n // the number's text as a string
	case 12:
		if g.p(0.3) {
			return map[string]any{"numeric": []any{"<", other(), ">", other()}} // wrong order
		}
		return map[string]any{"numeric": []any{">", json.Number(n)}}
	}
	return map[string]any{"prefix": n}
}

// renote writes f in another notation when it can.
func renote(g *gen, f float64, n string) string {
	s := renoted(g, f, n)
	if strings.Contains(s, "Inf") || !json.Valid([]byte(s)) {
		return n
	}
	return s
}

func renoted(g *gen, f float64, n string) string {
	switch g.n(5) {
	case 0:
		return strconv.FormatFloat(f, 'e', -1, 64)
	case 1:
		return strconv.FormatFloat(f, 'f', -1, 64) + pick(g, []string{"", ".0", "0"})
	case 2:
		if !strings.ContainsAny(n, ".eE") {
			return n + ".0"
		}
		return n + "0"
	case 3:
		return strconv.FormatFloat(f, 'E', 3, 64)
	}
	return strconv.FormatFloat(f*10, 'g', -1, 64) + "e-1"
}

// ------------------------------------------------------------------ mutations

func (g *gen) mutate(ev map[string]any, path []string) {
	var o any = ev
	for i, k := range path {
		m, ok := o.(map[string]any)
		if !ok {
			if a, isArr := o.([]any); isArr && len(a) > 0 {
				var objs []map[string]any
				for _, e := range a {
					if mm, ok := e.(map[string]any); ok {
						objs = append(objs, mm)
					}
				}
				if len(objs) == 0 {
					return
				}
				m = pick(g, objs)
			} else {
				return
			}
		}
		if i == len(path)-1 {
			m[k] = g.change(m[k], m, k)
			if _, del := m[k].(deleted); del {
				delete(m, k)
			}
			return
		}
		o = m[k]
		if o == nil {
			return
		}
	}
}

type deleted struct{}

func (g *gen) change(v any, parent map[string]any, k string) any {
	switch g.n(12) {
	case 0:
		return deleted{}
	case 1:
		return g.scalar()
	case 2:
		return []any{v, g.scalar()}
	case 3:
		return []any{}
	case 4:
		return pick(g, []any{nil, "", map[string]any{}, map[string]any{"x": "y"}})
	case 5:
		// an array of objects, one with the field and one without
		return []any{map[string]any{k: v}, map[string]any{"other": "z"}}
	}
	switch t := v.(type) {
	case string:
		switch g.n(4) {
		case 0:
			return g.recase(t)
		case 1:
			return t + pick(g, []string{"x", "*", "ü", " "})
		case 2:
			if r, size := utf8.DecodeRuneInString(t); r != utf8.RuneError || size > 0 {
				return t[size:]
			}
		}
		return pick(g, strs)
	case json.Number:
		f, _ := strconv.ParseFloat(string(t), 64)
		if g.p(0.6) {
			return json.Number(renote(g, f, string(t)))
		}
		return json.Number(pick(g, nums))
	case []any:
		if len(t) > 0 && g.p(0.5) {
			return t[1:]
		}
		return append(append([]any(nil), t...), g.scalar())
	case map[string]any:
		return []any{t, map[string]any{}}
	}
	return g.scalar()
}

func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = clone(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = clone(e)
		}
		return a
	}
	return v
}
