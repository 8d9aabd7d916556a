// Package status is `peerbridge status`: a deployed stack's endpoint, queues,
// dead-letter queues, alarms and last hour's counts, or with --local a running serve's.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// Local asks the running serve's admin endpoint (serve's side of --local): it returns
// the exit status.
type Local func(ctx context.Context, adminAddr string, asJSON bool, stdout, stderr io.Writer) int

// Options are status's flags.
type Options struct {
	IO        cmdutil.IOStreams
	Local     Local // with UseLocal
	Stack     cmdutil.StackFlags
	UseLocal  bool
	AdminAddr string // with UseLocal: which serve
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, local Local, args []string) int {
	opts, err := Parse(ios, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	opts.Local = local
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, args []string) (*Options, error) {
	opts := &Options{IO: ios}
	fs := cmdutil.NewFlagSet("status", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge status [flags]\n\nThe deployed stack: its webhook URL (token hidden), queue depth, dead-letter queues, alarms, and the last hour's counts.\n\nflags:")
	})
	opts.Stack.Register(fs)
	fs.BoolVar(&opts.UseLocal, "local", false, "the running peerbridge serve (its admin endpoint) instead of a deployed stack")
	fs.StringVar(&opts.AdminAddr, "admin-addr", "", "with --local, when several serves run: the `address` of the one to ask (its serve --admin-addr)")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		fs.Usage()
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	return opts, nil
}

// Run reads and prints the stack's status.
func Run(ctx context.Context, opts *Options) int {
	stderr := opts.IO.ErrOut
	if opts.UseLocal {
		if opts.Local == nil {
			return cmdutil.Fail(stderr, "status --local", errors.New("not available in this build"))
		}
		return opts.Local(ctx, opts.AdminAddr, opts.Stack.JSON, opts.IO.Out, stderr)
	}
	cfg, st, err := opts.Stack.Open(ctx)
	if err != nil {
		return cmdutil.Fail(stderr, "status", err)
	}
	s, err := operate.ReadStatus(ctx, cfg, st, time.Now())
	if err != nil {
		return cmdutil.Fail(stderr, "status", err)
	}
	if opts.Stack.JSON {
		cmdutil.PrintJSON(opts.IO.Out, s)
		return 0
	}
	Print(opts.IO.Out, s)
	return 0
}

// Print prints a status as status shows it: the stack and its queues, then its alarms
// and last hour's counts (serve's: its counts since it started).
func Print(w io.Writer, s operate.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "stack\t%s (%s)\n", s.Stack, s.StackStatus)
	fmt.Fprintf(tw, "webhook URL\t%s\n", s.WebhookURL)
	age := "no data"
	if s.Queue.OldestAge != nil {
		age = s.Queue.OldestAge.String()
	}
	fmt.Fprintf(tw, "webhook queue\t%d waiting, %d in flight, oldest %s\n", s.Queue.Visible, s.Queue.InFlight, age)
	for _, q := range s.DLQs {
		fmt.Fprintf(tw, "%s\t%d\n", q.Name, q.Visible+q.InFlight)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if !s.CountsSince.IsZero() { // serve: no alarms, counts since it started
		printCounts(w, "since "+s.CountsSince.Local().Format("15:04:05")+":", s.LastHour)
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(s.Alarms) == 0 {
		fmt.Fprintln(tw, "alarms\tnone found")
	}
	for i, a := range s.Alarms {
		label := ""
		if i == 0 {
			label = "alarms"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", label, a.State, a.Name)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(s.LastHour) == 0 {
		fmt.Fprintln(w, "last hour: no metrics (none emitted yet, or CloudWatch has not aggregated them)")
		return
	}
	printCounts(w, "last hour:", s.LastHour)
}

func printCounts(w io.Writer, heading string, counts map[string]float64) {
	fmt.Fprintln(w, heading)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, name := range metrics.Names {
		if v, ok := counts[name]; ok {
			fmt.Fprintf(tw, "  %s\t%.0f\t\n", name, v)
		}
	}
	tw.Flush()
}
