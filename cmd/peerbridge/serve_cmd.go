package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/serve"
)

// runServe is `peerbridge serve`: its flags and environment make the serve.Options that
// serve.Run runs with.
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	opts, code := serveOptions(args, stderr)
	if code >= 0 {
		return code
	}
	return serve.Run(ctx, opts, stdout, stderr)
}

// serveOptions reads serve's flags and environment into options; code is the exit
// status when they are wrong (or help was asked for), else -1.
func serveOptions(args []string, stderr io.Writer) (opts serve.Options, code int) {
	opts = serve.Options{Params: map[string]string{}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.Addr, "addr", serve.DefaultAddr, "`address` of the webhook endpoint")
	fs.StringVar(&opts.SandboxAddr, "sandbox-addr", "127.0.0.1:3001", "`address` of the sandbox Peerdom API")
	fs.StringVar(&opts.Token, "token", "", "webhook `token` (default $PEERBRIDGE_WEBHOOK_TOKEN, else a generated one)")
	fs.StringVar(&opts.Template, "template", "template.yaml", "the SAM `template` whose rules route events to the actions")
	fs.Var(paramFlag(opts.Params), "param", "template parameter `NAME=VALUE` (repeatable)")
	fs.StringVar(&opts.EventsOut, "events-out", "", "append every bus event to `FILE` as a JSON line")
	fs.StringVar(&opts.PeerdomURL, "peerdom-url", "", "a real Peerdom API `URL` (key in $PEERDOM_API_KEY) instead of the sandbox")
	fs.StringVar(&opts.LogLevel, "log-level", "warn", "`level` of the handlers' JSON logs on stderr (debug|info|warn|error)")
	fs.BoolVar(&opts.NoActions, "no-actions", false, "run no action: events are routed and shown, not delivered")
	fs.DurationVar(&opts.DrainFor, "drain-timeout", 30*time.Second, "how long shutdown may take to finish accepted work; what is left goes to the --spill file")
	fs.IntVar(&opts.MaxBacklog, "max-backlog", serve.DefaultMaxBacklog, "most webhooks queued in memory; beyond it the endpoint answers 503 with Retry-After")
	fs.IntVar(&opts.MaxConns, "max-conns", serve.DefaultMaxConns, "most open connections to the webhook endpoint at once")
	fs.StringVar(&opts.AWSAddr, "aws-addr", "127.0.0.1:3002", "`address` of the local AWS endpoint (SQS SendMessage, EventBridge PutEvents) for peerbridge invoke --local; empty: none")
	fs.BoolVar(&opts.Watch, "watch", false, "rebuild a function run under the Lambda emulator (not a shipped action) when a file under its CodeUri changes")
	fs.DurationVar(&opts.ReconcileEvery, "reconcile-every", time.Minute, "run reconciliation this often against the Peerdom side: changes no webhook reported are published (the first run, at start, records the baseline); 0 turns it off")
	fs.StringVar(&opts.AdminAddr, "admin-addr", "127.0.0.1:3003", "loopback `address` of the admin endpoint that peerbridge status --local and dlq --local ask (its token is in the admin file); empty: none")
	fs.StringVar(&opts.DataDir, "data-dir", "", "`DIR` of the on-disk store of queued webhooks and pending actions (default "+serve.DefaultDataDirText+")")
	inMemory := fs.Bool("in-memory", false, "keep the queue and the pending actions in memory only: a kill -9 loses them (shutdown spills what is left to --spill)")
	fs.IntVar(&opts.MaxPending, "max-pending-actions", serve.DefaultMaxPending, "most matched events waiting for their actions; beyond it the worker waits, the queue fills and the endpoint answers 503")
	fs.StringVar(&opts.Replay, "replay", "", "restore a spill `FILE` of an earlier serve --in-memory before serving: its webhooks queued again with their delivery ids, its events given only the actions still pending (restore a file once)")
	fs.StringVar(&opts.Spill, "spill", "", "`FILE` for the work still undelivered when --drain-timeout ends (default peerbridge-spill-<time>.jsonl, written only if needed), with --in-memory; restore it with peerbridge serve --replay FILE")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge serve [flags]\n\nRuns ingest, the queue, the worker, the bus and the actions on this machine, routing events\nby the rules of template.yaml, against an in-memory sandbox Peerdom (or a real one).")
		fs.PrintDefaults()
	}
	argv, err := parseFlags(fs, args)
	if err != nil {
		return opts, flagExit(err)
	}
	if len(argv) > 0 {
		fmt.Fprintf(stderr, "peerbridge serve: unexpected argument %q\n", argOr(argv, 0))
		return opts, 2
	}
	if opts.MaxBacklog < 1 || opts.MaxConns < 1 || opts.MaxPending < 1 {
		fmt.Fprintln(stderr, "peerbridge serve: --max-backlog, --max-conns and --max-pending-actions must be at least 1")
		return opts, 2
	}
	if *inMemory && opts.DataDir != "" {
		fmt.Fprintln(stderr, "peerbridge serve: give --data-dir or --in-memory, not both")
		return opts, 2
	}
	if !*inMemory && opts.DataDir == "" {
		if opts.DataDir, err = serve.DefaultDataDir(); err != nil {
			fmt.Fprintf(stderr, "peerbridge serve: %v; give --data-dir DIR or --in-memory\n", err)
			return opts, 2
		}
	}
	if opts.Token == "" {
		opts.Token = os.Getenv("PEERBRIDGE_WEBHOOK_TOKEN") // not the flag's default: -h would show it
	}
	if opts.PeerdomURL != "" {
		opts.APIKey = os.Getenv("PEERDOM_API_KEY")
		if opts.APIKey == "" {
			fmt.Fprintln(stderr, "peerbridge serve: --peerdom-url needs the organization's API key in PEERDOM_API_KEY")
			return opts, 2
		}
	}
	return opts, -1
}

// paramFlag collects repeated --param NAME=VALUE.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }
func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	p[name] = value
	return nil
}
