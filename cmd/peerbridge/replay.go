package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/operate"
)

func runReplay(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: peerbridge replay --since T [--until T] [--rule NAME ...] [--detail-type TYPE ...] [flags]

Replays the archived events of [since, until) to the chosen rules of the bus: every rule
but the chat rule unless --rule names some (name the chat rule to post old events to
chat). --detail-type keeps the rules whose pattern can match one of the types; each rule
still receives every archived event its own pattern matches. T is RFC 3339
(2026-11-30T09:00:00Z) or a duration before now (2h, 30m).

flags:`)
		fs.PrintDefaults()
	}
	var sf stackFlags
	sf.register(fs)
	since := fs.String("since", "", "start of the window: RFC 3339 time, or a duration before now (2h)")
	until := fs.String("until", "", "end of the window (default: now)")
	var rules, detailTypes multiFlag
	fs.Var(&rules, "rule", "a rule to replay to (repeatable)")
	fs.Var(&detailTypes, "detail-type", "keep the rules that match this detail-type (repeatable)")
	if argv, err := parseFlags(fs, args); err != nil || len(argv) > 0 {
		if err == nil {
			fs.Usage()
			return 2
		}
		return flagExit(err)
	}
	now := time.Now()
	r := operate.Replay{Rules: rules, DetailTypes: detailTypes, Until: now}
	var err error
	if *since == "" {
		fmt.Fprintln(stderr, "peerbridge replay: --since: required (a time, or a duration before now such as 2h)")
		return 2
	}
	if r.Since, err = parseWhen(*since, now); err != nil {
		fmt.Fprintf(stderr, "peerbridge replay: --since: %v\n", err)
		return 2
	}
	if *until != "" {
		if r.Until, err = parseWhen(*until, now); err != nil {
			fmt.Fprintf(stderr, "peerbridge replay: --until: %v\n", err)
			return 2
		}
	}
	cfg, st, err := sf.open(ctx)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	archive, err := st.Output(operate.OutputEventArchiveArn)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	busArn, err := st.Output("EventBusArn")
	if err != nil {
		return fail(stderr, "replay", err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	all, err := operate.BusRules(ctx, eb, st.Outputs[operate.OutputEventBusName])
	if err != nil {
		return fail(stderr, "replay", err)
	}
	chosen, err := operate.ChooseRules(all, r)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	name, err := operate.StartReplay(ctx, eb, archive, busArn, chosen, r, now)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	fmt.Fprintf(stderr, "Replay %s started: events from %s to %s, to %s\n", name, r.Since.Format(time.RFC3339),
		r.Until.Format(time.RFC3339), strings.Join(operate.RuleNames(chosen), ", "))
	last := ""
	p, err := operate.FollowReplay(ctx, eb, name, 5*time.Second, func(p operate.ReplayProgress) {
		line := p.State
		if !p.LastReplayed.IsZero() {
			line += ", replayed up to " + p.LastReplayed.UTC().Format(time.RFC3339)
		}
		if line != last {
			fmt.Fprintln(stderr, line)
			last = line
		}
	})
	if sf.json {
		printJSON(stdout, p)
	}
	if err != nil {
		return fail(stderr, "replay", err)
	}
	if !sf.json {
		fmt.Fprintf(stdout, "Replay %s %s.\n", name, p.State)
	}
	return 0
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-30T09:00:00Z) nor a duration (2h)", s)
	}
	return t, nil
}
