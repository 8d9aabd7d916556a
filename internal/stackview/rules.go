package stackview

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// rulesInterval is how long the bus's rules are reused before they are listed again.
const rulesInterval = time.Minute

// busRule is one rule of the bus the console shows an event routed to.
type busRule struct {
	name    string
	pattern *eventpattern.Pattern
}

// router tells which of the bus's rules an event matches, by peerbridge's own matcher
// (pkg/eventpattern, held to EventBridge's), from the rules listed at most once a
// minute (events:ListRules). Tail's rules and the archive's are left out: they route
// to no action.
type router struct {
	mu       sync.Mutex
	rules    []busRule
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
	r.rules = r.rules[:0]
	for _, x := range all {
		if x.Disabled || x.Pattern == "" || strings.HasPrefix(x.Name, operate.TailRulePrefix) || strings.HasPrefix(x.Name, "Events-Archive-") {
			continue
		}
		p, err := eventpattern.Compile([]byte(x.Pattern))
		if err != nil {
			continue // EventBridge took it, so this would be a matcher gap; show no match
		}
		r.rules = append(r.rules, busRule{name: x.Name, pattern: p})
	}
}

// match names the rules the event's JSON matches, in the bus's order.
func (r *router) match(raw []byte) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rules) == 0 {
		return nil
	}
	ev, err := eventpattern.DecodeEvent(raw)
	if err != nil {
		return nil
	}
	var names []string
	for _, x := range r.rules {
		if x.pattern.MatchEvent(ev) {
			names = append(names, x.name)
		}
	}
	return names
}
