// Command peerbridge is the command-line side of peerbridge: parse webhooks into events,
// run the whole pipeline locally, invoke one function under the Lambda emulator, send
// sample webhooks, export Peerdom data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand: it gets its own arguments and the process's streams, and
// returns the exit status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is the command table: name, one-line summary, run function. Adding a command
// is one line here.
var commands = map[string]command{
	"console":   {summary: "the web console against a deployed stack: status, dead letters, live events (serve has its own)", run: runConsole},
	"cost":      {summary: "the monthly AWS bill of the stack template.yaml deploys, line by line, free tiers apart", run: runCost},
	"dlq":       {summary: "list, show, redrive or purge a deployed stack's dead-letter queues", run: runDLQ},
	"doctor":    {summary: "check how your Peerdom API behaves and whether peerbridge works against it", run: runDoctor},
	"export":    {summary: "export every map, circle, role, role holder and peer to files", run: runExport},
	"invoke":    {summary: "run one function of template.yaml under the Lambda emulator, as sam local invoke without Docker", run: runInvoke},
	"parse":     {summary: "turn webhook bodies into events (stdin or FILE)", run: runParse},
	"reconcile": {summary: "print what changed in Peerdom since a state file: what webhooks missed (--dry-run)", run: runReconcile},
	"replay":    {summary: "replay archived events to the chosen rules of a deployed stack's bus", run: runReplay},
	"send":      {summary: "post sample webhooks to a local or deployed endpoint", run: runSend},
	"serve":     {summary: "run the whole pipeline locally: webhooks in, events, actions", run: runServe},
	"status":    {summary: "a deployed stack's endpoint, queues, dead-letter queues, alarms and last hour's counts", run: runStatus},
	"tail":      {summary: "show a deployed stack's events live (and forward them to a local URL)", run: runTail},
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
		return cmd.run(ctx, []string{"-h"}, stdin, stdout, stdout)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "peerbridge: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if helpRequested(args[1:]) {
		// The command's flag set prints its usage to the stream it is given as stderr.
		stderr = stdout
	}
	return cmd.run(ctx, args[1:], stdin, stdout, stderr)
}

// helpRequested reports whether a command's arguments ask for its help (-h, -help or
// --help before any "--").
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: peerbridge <command> [flags] [arguments]\n\ncommands:")
	for _, name := range sortedCommandNames() {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
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

// parseFlags parses args with fs, letting flags follow arguments (`parse FILE --jsonl`):
// it returns the arguments that are not flags, in order. After "--" everything is an
// argument.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagExit is the exit status for a flag parsing error: 0 for -h (help was asked for
// and shown), 2 for bad flags (the flag package has printed what is wrong).
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// argOr is argv[i], or "" when there is no such argument.
func argOr(argv []string, i int) string {
	if i < len(argv) {
		return argv[i]
	}
	return ""
}
