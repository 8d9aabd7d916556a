// Package reconcile is `peerbridge reconcile --dry-run [--state FILE] [--api-url URL]
// [--json]`: what changed in Peerdom since a state file, as the events reconciliation
// would publish (internal/reconcile); it never publishes.
package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Options are reconcile's flags.
type Options struct {
	IO        cmdutil.IOStreams
	Getenv    func(string) string // PEERDOM_API_KEY, PEERDOM_API_URL
	API       cmdutil.APIFlag
	StatePath string
	JSON      bool // the events themselves, one a line
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, getenv func(string) string, args []string) int {
	opts, err := Parse(ios, getenv, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options; --dry-run is required.
func Parse(ios cmdutil.IOStreams, getenv func(string) string, args []string) (*Options, error) {
	opts := &Options{IO: ios, Getenv: getenv}
	fs := cmdutil.NewFlagSet("reconcile", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge reconcile --dry-run [--state FILE] [--api-url URL] [--json]\n\nLists every role, group and peer through the Peerdom API and prints what changed since\nthe state FILE was last updated, as the events reconciliation would publish (docs/contract.md,\n\"Events found by reconciliation\"): what your webhooks may have missed. The first run only records the state. The API\nkey comes from $PEERDOM_API_KEY.")
	})
	dryRun := fs.Bool("dry-run", false, "print the differences instead of publishing them (required: this command never publishes)")
	fs.StringVar(&opts.StatePath, "state", "peerbridge-state.json", "the state `file` to compare with (created on the first run, then updated)")
	opts.API.Register(fs)
	fs.BoolVar(&opts.JSON, "json", false, "print the events themselves, one JSON object a line")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		return nil, cmdutil.Usagef(ios, "reconcile", "unexpected argument %q", argv[0])
	}
	if !*dryRun {
		return nil, cmdutil.Usagef(ios, "reconcile", "pass --dry-run; publishing is what `serve --reconcile-every` and the deployed ReconcileFunction do")
	}
	return opts, nil
}

// Run compares Peerdom with the state file, updates the file and prints the
// differences: status 2 without an API key, 1 when Peerdom or the file fails.
func Run(ctx context.Context, opts *Options) int {
	stderr := opts.IO.ErrOut
	api := opts.API.Client("reconcile", opts.Getenv, stderr)
	if api == nil {
		return 2
	}
	st, err := memstate.Load(opts.StatePath)
	if err != nil {
		return cmdutil.Fail(stderr, "reconcile", err)
	}
	rep, err := (&reconcile.Reconciler{API: api, State: st}).Run(ctx)
	if msg := cmdutil.KeyRefused("reconcile", err); msg != "" {
		fmt.Fprintln(stderr, msg)
		return 1
	}
	if err != nil {
		return cmdutil.Fail(stderr, "reconcile", err)
	}
	if err := st.Save(opts.StatePath); err != nil {
		return cmdutil.Fail(stderr, "reconcile", fmt.Errorf("saving the state: %w", err))
	}
	listed := fmt.Sprintf("%d roles, %d groups, %d peers", rep.Listed["role"], rep.Listed["group"], rep.Listed["peer"])
	if rep.Baseline {
		fmt.Fprintf(stderr, "first run: state of %s recorded in %s; nothing to compare yet. Run again later to see what changed.\n", listed, opts.StatePath)
		return 0
	}
	if err := printEvents(opts.IO.Out, rep.Events, opts.JSON); err != nil {
		return cmdutil.Fail(stderr, "reconcile", err)
	}
	fmt.Fprintf(stderr, "%d differences in %s since the state in %s (now updated); nothing was published\n", len(rep.Events), listed, opts.StatePath)
	return 0
}

// printEvents prints one line per event, or with asJSON the events themselves.
func printEvents(w io.Writer, evs []peerdom.Event, asJSON bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, ev := range evs {
		if asJSON {
			if err := enc.Encode(ev); err != nil {
				return err
			}
			continue
		}
		line := fmt.Sprintf("%-14s %s (%s)", ev.DetailType, ev.Detail.Name, ev.Detail.EntityID)
		if len(ev.Detail.ChangedFields) > 0 {
			line += ": " + strings.Join(ev.Detail.ChangedFields, ", ")
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
