package stackview

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// rulesInterval is how long the bus's rules are reused before they are listed again.
const rulesInterval = time.Minute

// route is one rule of the bus: its name, pattern and targets (the functions' or queues'
// names).
type route struct {
	name, pattern string
	targets       []string
	compiled      *eventpattern.Pattern
}

// router tells which of the bus's rules an event matches, by peerbridge's own matcher
// (pkg/eventpattern, held to EventBridge's), from the rules listed at most once a
// minute (events:ListRules, events:ListTargetsByRule). Disabled rules, tail's and the
// archive's are left out: they route to no action.
type router struct {
	mu       sync.Mutex
	routes   []route
	listedAt time.Time
	err      error // the last listing's failure
}

// refresh lists the rules again once rulesInterval has passed since the last listing.
func (r *router) refresh(ctx context.Context, v *View, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.listedAt.IsZero() && now.Sub(r.listedAt) < rulesInterval {
		return
	}
	r.listedAt = now
	bus, _ := v.stack.Output(operate.OutputEventBusName)
	all, err := operate.BusRules(ctx, v.eb, bus)
	if r.err = err; err != nil {
		return // keep the rules of the last listing
	}
	var routes []route
	for _, x := range all {
		if x.Disabled || x.Pattern == "" || strings.HasPrefix(x.Name, operate.TailRulePrefix) || strings.HasPrefix(x.Name, "Events-Archive-") {
			continue
		}
		p, err := eventpattern.Compile([]byte(x.Pattern))
		if err != nil {
			continue // EventBridge took it, so this would be a matcher gap; show no match
		}
		targets, err := ruleTargets(ctx, v.eb, bus, x.Name)
		if err != nil {
			r.err = err
			return
		}
		routes = append(routes, route{name: x.Name, pattern: x.Pattern, targets: targets, compiled: p})
	}
	r.routes = routes
}

// ruleTargets names the rule's targets: a function's name, a queue's, or the last part
// of another ARN.
func ruleTargets(ctx context.Context, eb *eventbridge.Client, bus, rule string) ([]string, error) {
	var names []string
	in := &eventbridge.ListTargetsByRuleInput{EventBusName: aws.String(bus), Rule: aws.String(rule)}
	for {
		out, err := eb.ListTargetsByRule(ctx, in)
		if err != nil {
			return nil, operate.Explain(err, "events:ListTargetsByRule")
		}
		for _, t := range out.Targets {
			names = append(names, targetName(aws.ToString(t.Arn)))
		}
		if out.NextToken == nil {
			return names, nil
		}
		in.NextToken = out.NextToken
	}
}

// targetName is the name in a target's ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE): a
// function's (function:NAME[:QUALIFIER]), a queue's (NAME), an API destination's
// (api-destination/NAME/ID), a log group's (log-group:NAME).
func targetName(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	res := parts[5]
	if kind, rest, ok := strings.Cut(res, "/"); ok && !strings.HasPrefix(kind, "log-group") {
		name, _, _ := strings.Cut(rest, "/")
		return name
	}
	if kind, rest, ok := strings.Cut(res, ":"); ok {
		if kind == "function" {
			name, _, _ := strings.Cut(rest, ":")
			return name
		}
		return rest
	}
	return res
}

// match is the routes whose pattern the event's JSON matches, in the bus's order.
func (r *router) match(raw []byte) []route {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.routes) == 0 {
		return nil
	}
	ev, err := eventpattern.DecodeEvent(raw)
	if err != nil {
		return nil
	}
	var matched []route
	for _, x := range r.routes {
		if x.compiled.MatchEvent(ev) {
			matched = append(matched, x)
		}
	}
	return matched
}

// lastErr is the last listing's failure (nil when it worked).
func (r *router) lastErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
