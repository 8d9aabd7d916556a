package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
)

// runReconcile implements `peerbridge reconcile --dry-run [--state FILE] [--api-url URL] [--json]`.
func runReconcile(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return reconcileMain(ctx, args, os.Getenv, stdout, stderr)
}

func reconcileMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "print the differences instead of publishing them (required: this command never publishes)")
	statePath := fs.String("state", "peerbridge-state.json", "the state `file` to compare with (created on the first run, then updated)")
	var apiURL apiFlag
	apiURL.register(fs)
	asJSON := fs.Bool("json", false, "print the events themselves, one JSON object a line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge reconcile --dry-run [--state FILE] [--api-url URL] [--json]\n\nLists every role, group and peer through the Peerdom API and prints what changed since\nthe state FILE was last updated, as the events reconciliation would publish (docs/contract.md,\n\"Events found by reconciliation\"): what your webhooks may have missed. The first run only records the state. The API\nkey comes from $PEERDOM_API_KEY.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "peerbridge reconcile: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !*dryRun {
		fmt.Fprintln(stderr, "peerbridge reconcile: pass --dry-run; publishing is what `serve --reconcile-every` and the deployed ReconcileFunction do")
		return 2
	}
	api := apiURL.client("reconcile", getenv, stderr)
	if api == nil {
		return 2
	}
	st, err := memstate.Load(*statePath)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge reconcile: %v\n", err)
		return 1
	}
	rep, err := (&reconcile.Reconciler{API: api, State: st}).Run(ctx)
	if msg := keyRefused("reconcile", err); msg != "" {
		fmt.Fprintln(stderr, msg)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge reconcile: %v\n", err)
		return 1
	}
	if err := st.Save(*statePath); err != nil {
		fmt.Fprintf(stderr, "peerbridge reconcile: saving the state: %v\n", err)
		return 1
	}
	listed := fmt.Sprintf("%d roles, %d groups, %d peers", rep.Listed["role"], rep.Listed["group"], rep.Listed["peer"])
	if rep.Baseline {
		fmt.Fprintf(stderr, "first run: state of %s recorded in %s; nothing to compare yet. Run again later to see what changed.\n", listed, *statePath)
		return 0
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, ev := range rep.Events {
		if *asJSON {
			if err := enc.Encode(ev); err != nil {
				fmt.Fprintf(stderr, "peerbridge reconcile: %v\n", err)
				return 1
			}
			continue
		}
		line := fmt.Sprintf("%-14s %s (%s)", ev.DetailType, ev.Detail.Name, ev.Detail.EntityID)
		if len(ev.Detail.ChangedFields) > 0 {
			line += ": " + strings.Join(ev.Detail.ChangedFields, ", ")
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stderr, "%d differences in %s since the state in %s (now updated); nothing was published\n", len(rep.Events), listed, *statePath)
	return 0
}
