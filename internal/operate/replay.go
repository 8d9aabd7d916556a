package operate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Replay is what `peerbridge replay` asks for.
type Replay struct {
	Since, Until time.Time
	Rules        []string // rule names; empty: every rule of the bus but chat and tail's
	DetailTypes  []string // keep only the rules whose pattern can match one of these
}

// Rule is one rule of the bus.
type Rule struct {
	Name, Arn, Pattern string
	Disabled           bool // the rule's State is DISABLED: it routes nothing
}

// chatRule is how the template's chat rule is recognized: CloudFormation names it
// <stack>-ChatRule-<suffix>. A replay never posts old events to chat unless named.
func chatRule(name string) bool { return strings.Contains(name, "-ChatRule-") }

// TailRulePrefix starts the names of the temporary rules `peerbridge tail` creates.
const TailRulePrefix = "peerbridge-tail-"

// BusRules lists the rules of the stack's bus.
func BusRules(ctx context.Context, eb *eventbridge.Client, bus string) ([]Rule, error) {
	var rules []Rule
	var token *string
	for {
		out, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: token})
		if err != nil {
			return nil, Explain(err, "events:ListRules")
		}
		for _, r := range out.Rules {
			rules = append(rules, Rule{Name: aws.ToString(r.Name), Arn: aws.ToString(r.Arn), Pattern: aws.ToString(r.EventPattern),
				Disabled: r.State == ebtypes.RuleStateDisabled})
		}
		if token = out.NextToken; token == nil {
			return rules, nil
		}
	}
}

// ChooseRules picks the rules a replay goes to: the named ones (each must exist), else
// every rule but the chat rule, tail's and the archive's; then, with detail-types, only the rules whose
// pattern lists one of them or does not constrain detail-type.
func ChooseRules(all []Rule, r Replay) ([]Rule, error) {
	var chosen []Rule
	if len(r.Rules) > 0 {
		for _, name := range r.Rules {
			i := slices.IndexFunc(all, func(x Rule) bool { return x.Name == name })
			if i < 0 {
				names := make([]string, len(all))
				for j, x := range all {
					names[j] = x.Name
				}
				return nil, fmt.Errorf("no rule %q on the bus; its rules: %s", name, strings.Join(names, ", "))
			}
			chosen = append(chosen, all[i])
		}
	} else {
		for _, x := range all {
			// The archive's own rule (EventBridge names it Events-Archive-<archive>) matches
			// no replayed event.
			if !chatRule(x.Name) && !strings.HasPrefix(x.Name, TailRulePrefix) && !strings.HasPrefix(x.Name, "Events-Archive-") {
				chosen = append(chosen, x)
			}
		}
	}
	if len(r.DetailTypes) > 0 {
		chosen = slices.DeleteFunc(chosen, func(x Rule) bool { return !patternAllows(x.Pattern, r.DetailTypes) })
	}
	if len(chosen) == 0 {
		return nil, errors.New("no rule to replay to: name one with --rule")
	}
	return chosen, nil
}

func patternAllows(pattern string, detailTypes []string) bool {
	var p map[string]any
	if json.Unmarshal([]byte(pattern), &p) != nil {
		return true // a rule we cannot read is not ours to exclude
	}
	listed, ok := p["detail-type"].([]any)
	if !ok {
		return true
	}
	for _, v := range listed {
		if s, ok := v.(string); ok && slices.Contains(detailTypes, s) {
			return true
		}
		if _, ok := v.(map[string]any); ok {
			return true // an operator (prefix, anything-but…): it may match
		}
	}
	return false
}

// StartReplay starts the archive's replay of [Since, Until) to the chosen rules of the bus.
func StartReplay(ctx context.Context, eb *eventbridge.Client, archiveArn, busArn string, rules []Rule, r Replay, now time.Time) (string, error) {
	if r.Until.IsZero() {
		r.Until = now
	}
	if !r.Since.Before(r.Until) {
		return "", fmt.Errorf("--since %s is not before --until %s", r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339))
	}
	arns := make([]string, len(rules))
	for i, x := range rules {
		arns[i] = x.Arn
	}
	name := "peerbridge-" + now.UTC().Format("20060102-150405")
	_, err := eb.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName:     aws.String(name),
		Description:    aws.String("peerbridge replay to " + strings.Join(RuleNames(rules), ", ")),
		EventSourceArn: aws.String(archiveArn),
		EventStartTime: aws.Time(r.Since), EventEndTime: aws.Time(r.Until),
		Destination: &ebtypes.ReplayDestination{Arn: aws.String(busArn), FilterArns: arns},
	})
	if err != nil {
		return "", Explain(err, "events:StartReplay")
	}
	return name, nil
}

// RuleNames is the rules' names, in order.
func RuleNames(rules []Rule) []string {
	names := make([]string, len(rules))
	for i, x := range rules {
		names[i] = x.Name
	}
	return names
}

// ReplayProgress is one look at a running replay.
type ReplayProgress struct {
	Name         string    `json:"name"`
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"`
	LastReplayed time.Time `json:"lastReplayed,omitzero"` // the time of the last event replayed
	Rules        []string  `json:"rules"`                 // rule ARNs it goes to
}

// FollowReplay describes the replay every interval, telling progress each time, until
// it ends (COMPLETED, FAILED or CANCELLED) or ctx is done.
func FollowReplay(ctx context.Context, eb *eventbridge.Client, name string, interval time.Duration, progress func(ReplayProgress)) (ReplayProgress, error) {
	for {
		out, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)})
		if err != nil {
			return ReplayProgress{}, Explain(err, "events:DescribeReplay")
		}
		p := ReplayProgress{Name: name, State: string(out.State), Reason: aws.ToString(out.StateReason), LastReplayed: aws.ToTime(out.EventLastReplayedTime)}
		if out.Destination != nil {
			p.Rules = out.Destination.FilterArns
		}
		if progress != nil {
			progress(p)
		}
		switch out.State {
		case ebtypes.ReplayStateCompleted:
			return p, nil
		case ebtypes.ReplayStateFailed, ebtypes.ReplayStateCancelled:
			return p, fmt.Errorf("replay %s %s: %s", name, p.State, p.Reason)
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("stopped following replay %s, which goes on (aws events cancel-replay --replay-name %s stops it): %w", name, name, ctx.Err())
		case <-time.After(interval):
		}
	}
}
