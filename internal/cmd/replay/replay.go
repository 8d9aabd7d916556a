// Package replay is `peerbridge replay --since T [--until T] [--rule NAME ...]
// [--detail-type TYPE ...]`: archived events replayed to chosen rules of a deployed
// stack's bus.
package replay

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// Options are replay's flags, the window read.
type Options struct {
	IO     cmdutil.IOStreams
	Stack  cmdutil.StackFlags
	Replay operate.Replay // the window, the rules, the detail-types
	Now    time.Time      // when the window was read: the replay's name is made from it
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, args []string) int {
	opts, err := Parse(ios, args, time.Now())
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options; durations in --since and --until count
// back from now.
func Parse(ios cmdutil.IOStreams, args []string, now time.Time) (*Options, error) {
	opts := &Options{IO: ios, Now: now}
	fs := cmdutil.NewFlagSet("replay", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, `usage: peerbridge replay --since T [--until T] [--rule NAME ...] [--detail-type TYPE ...] [flags]

Replays the archived events of [since, until) to the chosen rules of the bus: every rule
but the chat rule unless --rule names some (name the chat rule to post old events to
chat). --detail-type keeps the rules whose pattern can match one of the types; each rule
still receives every archived event its own pattern matches. T is RFC 3339
(2026-11-30T09:00:00Z) or a duration before now (2h, 30m).

flags:`)
	})
	opts.Stack.Register(fs)
	since := fs.String("since", "", "start of the window: RFC 3339 time, or a duration before now (2h)")
	until := fs.String("until", "", "end of the window (default: now)")
	var rules, detailTypes cmdutil.MultiFlag
	fs.Var(&rules, "rule", "a rule to replay to (repeatable)")
	fs.Var(&detailTypes, "detail-type", "keep the rules that match this detail-type (repeatable)")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		fs.Usage()
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	opts.Replay = operate.Replay{Rules: rules, DetailTypes: detailTypes, Until: now}
	if *since == "" {
		return nil, cmdutil.Usagef(ios, "replay", "--since: required (a time, or a duration before now such as 2h)")
	}
	if opts.Replay.Since, err = parseWhen(*since, now); err != nil {
		return nil, cmdutil.Usagef(ios, "replay", "--since: %v", err)
	}
	if *until != "" {
		if opts.Replay.Until, err = parseWhen(*until, now); err != nil {
			return nil, cmdutil.Usagef(ios, "replay", "--until: %v", err)
		}
	}
	return opts, nil
}

// Run starts the replay on the stack's archive and follows it to its end: status 1 when
// it could not start or failed.
func Run(ctx context.Context, opts *Options) int {
	stdout, stderr := opts.IO.Out, opts.IO.ErrOut
	eb, name, err := start(ctx, opts)
	if err != nil {
		return cmdutil.Fail(stderr, "replay", err)
	}
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
	if opts.Stack.JSON {
		cmdutil.PrintJSON(stdout, p)
	}
	if err != nil {
		return cmdutil.Fail(stderr, "replay", err)
	}
	if !opts.Stack.JSON {
		fmt.Fprintf(stdout, "Replay %s %s.\n", name, p.State)
	}
	return 0
}

// start finds the stack's archive, bus and chosen rules and starts the replay; it
// returns its name.
func start(ctx context.Context, opts *Options) (*eventbridge.Client, string, error) {
	r := opts.Replay
	cfg, st, err := opts.Stack.Open(ctx)
	if err != nil {
		return nil, "", err
	}
	archive, err := st.Output(operate.OutputEventArchiveArn)
	if err != nil {
		return nil, "", err
	}
	busArn, err := st.Output("EventBusArn")
	if err != nil {
		return nil, "", err
	}
	eb := eventbridge.NewFromConfig(cfg)
	all, err := operate.BusRules(ctx, eb, st.Outputs[operate.OutputEventBusName])
	if err != nil {
		return nil, "", err
	}
	chosen, err := operate.ChooseRules(all, r)
	if err != nil {
		return nil, "", err
	}
	name, err := operate.StartReplay(ctx, eb, archive, busArn, chosen, r, opts.Now)
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Replay %s started: events from %s to %s, to %s\n", name, r.Since.Format(time.RFC3339),
		r.Until.Format(time.RFC3339), strings.Join(operate.RuleNames(chosen), ", "))
	return eb, name, nil
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
