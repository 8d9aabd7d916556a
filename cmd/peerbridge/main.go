// Command peerbridge is the command-line side of peerbridge: parse webhooks into events,
// run the whole pipeline locally, invoke one function under the Lambda emulator, send
// sample webhooks, export Peerdom data.
package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/cmd/console"
	"github.com/peerbridge/peerbridge/internal/cmd/cost"
	"github.com/peerbridge/peerbridge/internal/cmd/dlq"
	"github.com/peerbridge/peerbridge/internal/cmd/doctor"
	"github.com/peerbridge/peerbridge/internal/cmd/export"
	"github.com/peerbridge/peerbridge/internal/cmd/invoke"
	"github.com/peerbridge/peerbridge/internal/cmd/parse"
	"github.com/peerbridge/peerbridge/internal/cmd/reconcile"
	"github.com/peerbridge/peerbridge/internal/cmd/replay"
	"github.com/peerbridge/peerbridge/internal/cmd/send"
	"github.com/peerbridge/peerbridge/internal/cmd/status"
	"github.com/peerbridge/peerbridge/internal/cmd/tail"
)

// commands is the command table: name, one-line summary, and the function that runs it
// (each command is its own package under internal/cmd). Adding a command is one line here.
var commands = map[string]cmdutil.Command{
	"console":   {Summary: "the web console against a deployed stack: status, dead letters, live events (serve has its own)", Run: console.Main},
	"cost":      {Summary: "the monthly AWS bill of the stack template.yaml deploys, line by line, free tiers apart", Run: cost.Main},
	"dlq":       {Summary: "list, show, redrive or purge a deployed stack's dead-letter queues", Run: withLocal(dlq.Main, runDLQLocal)},
	"doctor":    {Summary: "check how your Peerdom API behaves and whether peerbridge works against it", Run: withEnv(doctor.Main)},
	"export":    {Summary: "export every map, circle, role, role holder and peer to files", Run: withEnv(export.Main)},
	"invoke":    {Summary: "run one function of template.yaml under the Lambda emulator, as sam local invoke without Docker", Run: withLocal(invoke.Main, invokeTwins)},
	"parse":     {Summary: "turn webhook bodies into events (stdin or FILE)", Run: parse.Main},
	"reconcile": {Summary: "print what changed in Peerdom since a state file: what webhooks missed (--dry-run)", Run: withEnv(reconcile.Main)},
	"replay":    {Summary: "replay archived events to the chosen rules of a deployed stack's bus", Run: replay.Main},
	"send":      {Summary: "post sample webhooks to a local or deployed endpoint", Run: withEnv(send.Main)},
	"serve":     {Summary: "run the whole pipeline locally: webhooks in, events, actions", Run: ownFlags(runServe)},
	"status":    {Summary: "a deployed stack's endpoint, queues, dead-letter queues, alarms and last hour's counts", Run: withLocal(status.Main, runStatusLocal)},
	"tail":      {Summary: "show a deployed stack's events live (and forward them to a local URL)", Run: withLocal(tail.Main, showEvents)},
}

// withEnv gives a command this process's environment.
func withEnv(main func(context.Context, cmdutil.IOStreams, func(string) string, []string) int) func(context.Context, cmdutil.IOStreams, []string) int {
	return func(ctx context.Context, ios cmdutil.IOStreams, args []string) int {
		return main(ctx, ios, os.Getenv, args)
	}
}

// withLocal gives a command what it needs of serve (its --local side, or serve's display).
func withLocal[L any](main func(context.Context, cmdutil.IOStreams, L, []string) int, local L) func(context.Context, cmdutil.IOStreams, []string) int {
	return func(ctx context.Context, ios cmdutil.IOStreams, args []string) int {
		return main(ctx, ios, local, args)
	}
}

// ownFlags runs a command that still sets up its flags itself (serve): its usage goes to
// the stream it is given as stderr, so for help that is stdout, as cmdutil does.
func ownFlags(run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int) func(context.Context, cmdutil.IOStreams, []string) int {
	return func(ctx context.Context, ios cmdutil.IOStreams, args []string) int {
		stderr := ios.ErrOut
		if cmdutil.HelpRequested(args) {
			stderr = ios.Out
		}
		return run(ctx, args, ios.In, ios.Out, stderr)
	}
}

// stopSignals end a command as Ctrl-C does: it cleans up (tail removes its rule and
// queue, serve drains) and exits. SIGHUP is a closed terminal.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	// Help is what was asked for: it goes to stdout with status 0 (`peerbridge serve -h |
	// less`); a usage printed because of a mistake goes to stderr with status 2.
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version", "version":
		bi, ok := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, versionLine(bi, ok))
		return 0
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		// `help CMD` is `CMD -h`: the same text, on the same stream, with the same status.
		cmd, ok := commands[args[1]]
		if !ok || len(args) > 2 {
			fmt.Fprintf(stderr, "peerbridge help: unknown command %q\n\n", strings.Join(args[1:], " "))
			usage(stderr)
			return 2
		}
		return cmd.Run(ctx, cmdutil.IOStreams{In: stdin, Out: stdout, ErrOut: stdout}, []string{"-h"})
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "peerbridge: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.Run(ctx, cmdutil.IOStreams{In: stdin, Out: stdout, ErrOut: stderr}, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: peerbridge <command> [flags] [arguments]\n\ncommands:")
	for _, name := range sortedCommandNames() {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].Summary)
	}
	fmt.Fprintln(w, "\nRun 'peerbridge help <command>' (or 'peerbridge <command> -h') for a command's flags;\n'peerbridge --version' for the version.")
}

func sortedCommandNames() []string {
	return slices.Sorted(maps.Keys(commands))
}

// versionLine is what --version prints: the module version ("(devel)" for a build from
// a checkout), with the VCS revision and a dirty mark when the build recorded them.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "peerbridge (version unknown: built without module information)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, modified, at string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		case "vcs.time":
			at = ", " + s.Value
		}
	}
	line := "peerbridge " + version
	if rev != "" {
		line += " (" + rev + at + modified + ")"
	}
	if bi.GoVersion != "" {
		line += " " + bi.GoVersion
	}
	return line
}
