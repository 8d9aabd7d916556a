// Package samtemplate reads the parts of a SAM template.yaml that the local pipeline
// runs by: each function's code folder, environment and EventBridge rules, with
// parameters resolved to their defaults or to given values. So local routing is the
// deployed routing: `peerbridge serve` reads the template rather than copying it.
//
// It resolves the intrinsic functions a template uses for values (Ref, Fn::Sub,
// Fn::If with its conditions, Fn::Join, Fn::Select, Fn::Split, Fn::GetAtt). What only
// exists once deployed (an ARN, a resource's attribute) resolves to a readable
// placeholder such as "WebhookQueue.Arn".
package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed template with its parameters resolved.
type Template struct {
	Params     map[string]string // every parameter's value: given, else its default
	lists      map[string]bool   // parameters of a list type: Ref gives a list
	raw        map[string]any
	conditions map[string]bool
}

// Function is one AWS::Serverless::Function.
type Function struct {
	LogicalID string
	CodeURI   string
	Env       map[string]string // Globals' variables overlaid by the function's own
	Rules     []Rule            // its EventBridgeRule events
	// MaxRetries is how often Lambda retries a failed asynchronous invocation (as from an
	// EventBridge rule): EventInvokeConfig.MaximumRetryAttempts, else Lambda's default 2.
	MaxRetries int
	// BuildMethod is Metadata.BuildMethod: "makefile" builds with the Makefile's
	// build-<LogicalId> target, as `sam build` does.
	BuildMethod    string
	TimeoutSeconds int // Timeout: the function's, else Globals', else Lambda's 3
	MemoryMB       int // MemorySize: the function's, else Globals', else Lambda's 128
}

// Rule is an EventBridge rule: its name in the template and its event pattern (JSON).
type Rule struct {
	Name    string
	Bus     string
	Pattern json.RawMessage
}

// Pseudo parameters resolve to these local stand-ins.
var pseudo = map[string]string{
	"AWS::Region":    "local",
	"AWS::AccountId": "000000000000",
	"AWS::StackName": "peerbridge-local",
	"AWS::StackId":   "peerbridge-local",
	"AWS::Partition": "aws",
	"AWS::URLSuffix": "amazonaws.com",
}

// Load reads and resolves the template at path; params override parameter defaults.
func Load(path string, params map[string]string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Raw reads a template as written: plain values, with short-form intrinsics in their
// long form ({"Ref": X}, {"Fn::GetAtt": [R, A]}) and nothing resolved. For checks of the
// template itself; Parse resolves it.
func Raw(src []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("template is not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("template is empty")
	}
	v, err := fromNode(doc.Content[0])
	if err != nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is not a mapping")
	}
	return raw, nil
}

// Parse resolves a template given as YAML (or JSON) bytes.
func Parse(src []byte, params map[string]string) (*Template, error) {
	raw, err := Raw(src)
	if err != nil {
		return nil, err
	}
	t := &Template{Params: map[string]string{}, lists: map[string]bool{}, raw: raw, conditions: map[string]bool{}}
	declared, _ := raw["Parameters"].(map[string]any)
	for name := range params {
		if _, ok := declared[name]; !ok {
			return nil, fmt.Errorf("parameter %q is not declared in the template", name)
		}
	}
	for name, p := range declared {
		pm, _ := p.(map[string]any)
		typ := scalarString(pm["Type"])
		t.lists[name] = typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<")
		if v, ok := params[name]; ok {
			t.Params[name] = v
			continue
		}
		if d, ok := pm["Default"]; ok {
			t.Params[name] = scalarString(d)
		}
	}
	conds, _ := raw["Conditions"].(map[string]any)
	for name := range conds {
		if _, err := t.condition(name, conds, nil); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Functions lists the template's serverless functions (those whose Condition holds),
// sorted by logical id.
func (t *Template) Functions() ([]Function, error) {
	resources, _ := t.raw["Resources"].(map[string]any)
	var out []Function
	for _, id := range sortedKeys(resources) {
		res, _ := resources[id].(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" || !t.holds(res) {
			continue
		}
		fn, err := t.function(id, res)
		if err != nil {
			return nil, err
		}
		out = append(out, fn)
	}
	return out, nil
}

// Function is the serverless function with logical id id, whether or not its Condition
// holds (as `sam local invoke` runs a function whatever the template's conditions);
// deployed reports whether it does.
func (t *Template) Function(id string) (fn Function, deployed bool, err error) {
	resources, _ := t.raw["Resources"].(map[string]any)
	res, _ := resources[id].(map[string]any)
	if res["Type"] != "AWS::Serverless::Function" {
		var ids []string
		for _, other := range sortedKeys(resources) {
			if r, _ := resources[other].(map[string]any); r["Type"] == "AWS::Serverless::Function" {
				ids = append(ids, other)
			}
		}
		return Function{}, false, fmt.Errorf("no function %q in the template; its functions: %s", id, strings.Join(ids, ", "))
	}
	fn, err = t.function(id, res)
	return fn, t.holds(res), err
}

func (t *Template) function(id string, res map[string]any) (Function, error) {
	globalEnv := map[string]string{}
	if g, err := t.resolve(dig(t.raw, "Globals", "Function", "Environment", "Variables")); err != nil {
		return Function{}, fmt.Errorf("template Globals: %w", err)
	} else if gm, ok := g.(map[string]any); ok {
		for k, v := range gm {
			globalEnv[k] = scalarString(v)
		}
	}
	props, _ := res["Properties"].(map[string]any)
	fn := Function{LogicalID: id, Env: map[string]string{}, MaxRetries: 2,
		BuildMethod: scalarString(dig(res, "Metadata", "BuildMethod")), TimeoutSeconds: 3, MemoryMB: 128}
	if r, ok := dig(props, "EventInvokeConfig", "MaximumRetryAttempts").(int); ok {
		fn.MaxRetries = r
	}
	// Timeout and MemorySize: the function's own, else Globals', else Lambda's defaults.
	for _, setting := range []struct {
		key string
		to  *int
	}{{"Timeout", &fn.TimeoutSeconds}, {"MemorySize", &fn.MemoryMB}} {
		for _, v := range []any{dig(t.raw, "Globals", "Function", setting.key), props[setting.key]} {
			if r, err := t.resolve(v); err == nil && r != nil {
				if n, err := strconv.Atoi(scalarString(r)); err == nil {
					*setting.to = n
				}
			}
		}
	}
	for k, v := range globalEnv {
		fn.Env[k] = v
	}
	code, err := t.resolve(props["CodeUri"])
	if err != nil {
		return Function{}, fmt.Errorf("%s CodeUri: %w", id, err)
	}
	fn.CodeURI = scalarString(code)
	vars, err := t.resolve(dig(props, "Environment", "Variables"))
	if err != nil {
		return Function{}, fmt.Errorf("%s Environment: %w", id, err)
	}
	if vm, ok := vars.(map[string]any); ok {
		for k, v := range vm {
			fn.Env[k] = scalarString(v)
		}
	}
	events, _ := props["Events"].(map[string]any)
	for _, name := range sortedKeys(events) {
		ev, _ := events[name].(map[string]any)
		if ev["Type"] != "EventBridgeRule" && ev["Type"] != "CloudWatchEvent" {
			continue
		}
		rule, err := t.rule(name, ev["Properties"])
		if err != nil {
			return Function{}, fmt.Errorf("%s event %s: %w", id, name, err)
		}
		fn.Rules = append(fn.Rules, rule)
	}
	return fn, nil
}

func (t *Template) rule(name string, props any) (Rule, error) {
	p, err := t.resolve(props)
	if err != nil {
		return Rule{}, err
	}
	pm, _ := p.(map[string]any)
	pattern, ok := pm["Pattern"]
	if !ok {
		return Rule{}, fmt.Errorf("no Pattern")
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // patterns hold ">" and "<" operators
	if err := enc.Encode(pattern); err != nil {
		return Rule{}, err
	}
	return Rule{Name: name, Bus: scalarString(pm["EventBusName"]), Pattern: json.RawMessage(strings.TrimSpace(b.String()))}, nil
}

// holds reports whether a resource's Condition (if any) is true.
func (t *Template) holds(res map[string]any) bool {
	c, ok := res["Condition"].(string)
	return !ok || t.conditions[c]
}

// noValue marks AWS::NoValue: the key that holds it is removed.
type noValue struct{}

// resolve evaluates the intrinsic functions in v.
func (t *Template) resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return t.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := t.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out = append(out, r)
			}
		}
		return out, nil
	}
	return v, nil
}

func (t *Template) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name := scalarString(arg)
		if name == "AWS::NoValue" {
			return noValue{}, nil
		}
		if t.lists[name] {
			var items []any
			for _, s := range strings.Split(t.Params[name], ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			return items, nil
		}
		return t.ref(name), nil
	case "Fn::GetAtt":
		parts, err := t.resolve(arg)
		if err != nil {
			return nil, err
		}
		if l, ok := parts.([]any); ok {
			ss := make([]string, len(l))
			for i, p := range l {
				ss[i] = scalarString(p)
			}
			return strings.Join(ss, "."), nil
		}
		return scalarString(parts), nil
	case "Fn::Sub":
		return t.sub(arg)
	case "Fn::If":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, then, else]")
		}
		name := scalarString(l[0])
		val, ok := t.conditions[name]
		if !ok {
			return nil, fmt.Errorf("Fn::If: unknown condition %q", name)
		}
		if val {
			return t.resolve(l[1])
		}
		return t.resolve(l[2])
	case "Fn::Join", "Fn::Split", "Fn::Select":
		return t.listIntrinsic(fn, arg)
	}
	// Anything else only has a value once deployed.
	return fn + "(...)", nil
}

// listIntrinsic resolves the intrinsics on lists: Fn::Join, Fn::Split and Fn::Select.
func (t *Template) listIntrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Fn::Join":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("Fn::Join takes [delimiter, list]")
		}
		items, err := t.resolve(l[1])
		if err != nil {
			return nil, err
		}
		il, _ := items.([]any)
		ss := make([]string, len(il))
		for i, it := range il {
			ss[i] = scalarString(it)
		}
		return strings.Join(ss, scalarString(l[0])), nil
	case "Fn::Split":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("Fn::Split takes [delimiter, string]")
		}
		s, err := t.resolve(l[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(scalarString(s), scalarString(l[0])) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Select":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("Fn::Select takes [index, list]")
		}
		list, err := t.resolve(l[1])
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(scalarString(l[0]))
		ll, _ := list.([]any)
		if err != nil || i < 0 || i >= len(ll) {
			return nil, fmt.Errorf("Fn::Select: index %v out of range", l[0])
		}
		return ll[i], nil
	}
	return nil, fmt.Errorf("%s is not a list intrinsic", fn)
}

func (t *Template) ref(name string) string {
	if v, ok := t.Params[name]; ok {
		return v
	}
	if v, ok := pseudo[name]; ok {
		return v
	}
	return name // a resource: its name stands for its physical id
}

// sub expands ${Name}, ${Resource.Attr} and ${!Literal} in an Fn::Sub string.
func (t *Template) sub(arg any) (any, error) {
	vars := map[string]string{}
	s, ok := arg.(string)
	if l, isList := arg.([]any); isList && len(l) == 2 {
		s, ok = l[0].(string)
		m, err := t.resolve(l[1])
		if err != nil {
			return nil, err
		}
		if mm, isMap := m.(map[string]any); isMap {
			for k, v := range mm {
				vars[k] = scalarString(v)
			}
		}
	}
	if !ok {
		return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables]")
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub: unclosed ${ in %q", s)
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		switch v, isVar := vars[name]; {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		case isVar:
			b.WriteString(v)
		default:
			b.WriteString(t.ref(name))
		}
		s = s[i+j+1:]
	}
}

// condition evaluates a named condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition).
func (t *Template) condition(name string, conds map[string]any, seen []string) (bool, error) {
	if v, ok := t.conditions[name]; ok {
		return v, nil
	}
	if slices.Contains(seen, name) {
		return false, fmt.Errorf("condition %q refers to itself", name)
	}
	def, ok := conds[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	v, err := t.evalCondition(def, conds, append(seen, name))
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	t.conditions[name] = v
	return v, nil
}

func (t *Template) evalCondition(def any, conds map[string]any, seen []string) (bool, error) {
	m, ok := def.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("not a condition function: %v", def)
	}
	for fn, arg := range m {
		if fn == "Condition" {
			return t.condition(scalarString(arg), conds, seen)
		}
		l, _ := arg.([]any)
		switch fn {
		case "Fn::Equals":
			if len(l) != 2 {
				return false, fmt.Errorf("Fn::Equals takes two values")
			}
			a, err := t.resolve(l[0])
			if err != nil {
				return false, err
			}
			b, err := t.resolve(l[1])
			if err != nil {
				return false, err
			}
			return scalarString(a) == scalarString(b), nil
		case "Fn::Not", "Fn::And", "Fn::Or":
			if len(l) == 0 {
				return false, fmt.Errorf("%s takes a list of conditions", fn)
			}
			all, some := true, false
			for _, c := range l {
				v, err := t.evalCondition(c, conds, seen)
				if err != nil {
					return false, err
				}
				all, some = all && v, some || v
			}
			switch fn {
			case "Fn::Not":
				return !all, nil
			case "Fn::And":
				return all, nil
			default:
				return some, nil
			}
		}
		return false, fmt.Errorf("unknown condition function %s", fn)
	}
	return false, nil
}

// fromNode converts YAML to plain values, writing short-form intrinsics (!Ref X) in
// their long form ({"Ref": X}) so that one resolver handles both.
func fromNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
			if err := n.Decode(&v); err != nil {
				return nil, err
			}
			return v, nil
		}
		v = n.Value
	}
	switch tag := n.Tag; {
	case tag == "!Ref":
		return map[string]any{"Ref": v}, nil
	case tag == "!Condition":
		return map[string]any{"Condition": v}, nil
	case tag == "!GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	case strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!"):
		return map[string]any{"Fn::" + tag[1:]: v}, nil
	}
	return v, nil
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any, map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Resource is one resource of the template whose Condition holds, with its Properties
// resolved (nil when they do not resolve, e.g. a Fn::Sub of an unknown form).
type Resource struct {
	LogicalID  string
	Type       string
	Properties map[string]any
	Metadata   map[string]any // as written, unresolved
}

// Resources lists the resources that the template deploys with its parameters (those
// whose Condition holds), sorted by logical id. Globals are not merged in: Global reads
// the Globals section.
func (t *Template) Resources() []Resource {
	resources, _ := t.raw["Resources"].(map[string]any)
	var out []Resource
	for _, id := range sortedKeys(resources) {
		res, _ := resources[id].(map[string]any)
		if !t.holds(res) {
			continue
		}
		r := Resource{LogicalID: id, Type: scalarString(res["Type"])}
		r.Metadata, _ = res["Metadata"].(map[string]any)
		if p, err := t.resolve(res["Properties"]); err == nil {
			r.Properties, _ = p.(map[string]any)
		}
		out = append(out, r)
	}
	return out
}

// Global is the resolved value at path under the template's Globals section (e.g.
// "Function", "LoggingConfig", "SystemLogLevel"), or nil.
func (t *Template) Global(path ...string) any {
	v, err := t.resolve(dig(t.raw, append([]string{"Globals"}, path...)...))
	if err != nil {
		return nil
	}
	return v
}

// Dig is the value at path in v (nested maps), or nil: for reading a Resource's
// Properties.
func Dig(v any, path ...string) any { return dig(v, path...) }

// NoEcho reports whether the parameter is declared NoEcho: its value is not to be shown.
func (t *Template) NoEcho(name string) bool {
	v, _ := dig(t.raw, "Parameters", name, "NoEcho").(bool)
	return v || strings.EqualFold(scalarString(dig(t.raw, "Parameters", name, "NoEcho")), "true")
}
