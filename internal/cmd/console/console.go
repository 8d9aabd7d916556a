// Package console is `peerbridge console [--stack NAME] [--addr 127.0.0.1:PORT]`: the web
// console (internal/console) served on this machine against a deployed stack: its status,
// its dead-letter queues, and its bus's events live through a temporary tail, removed
// when the console stops. (serve has the same console on its admin address.)
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	webconsole "github.com/peerbridge/peerbridge/internal/console"
	"github.com/peerbridge/peerbridge/internal/console/stackconsole"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/stackview"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Options are console's flags.
type Options struct {
	IO      cmdutil.IOStreams
	Stack   cmdutil.StackFlags
	Addr    string // the console's address, on loopback
	Pattern string // the tail rule's event pattern, made from the flags
	Source  string // the stack's event source
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, args []string) int {
	opts, err := Parse(ios, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, args []string) (*Options, error) {
	opts := &Options{IO: ios}
	fs := cmdutil.NewFlagSet("console", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, `usage: peerbridge console [--stack NAME] [--addr 127.0.0.1:PORT] [flags]

Serves the web console against a deployed stack, on this machine only: its status (queue
depth, oldest message, alarms, the last hour's metrics), its dead-letter queues (redrive,
purge) and its bus's events live, through a temporary rule and queue as peerbridge tail
makes, removed on exit (Ctrl-C, SIGTERM, a closed terminal). It prints the console's URL
with a one-time token. (serve has the same console on its admin address.)

flags:`)
	})
	opts.Stack.Register(fs)
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:3004", "the console's address, on loopback (port 0: a free one)")
	pattern := fs.String("pattern", "", "an EventBridge event pattern (JSON) selecting the events shown (default: every event of --source)")
	fs.StringVar(&opts.Source, "source", peerdom.DefaultSource, "the stack's event source (its EventSource parameter)")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		fs.Usage()
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	if err := localaws.CheckLoopback("--addr", opts.Addr); err != nil {
		return nil, cmdutil.Usagef(ios, "console", "%v", err)
	}
	if opts.Pattern, err = operate.TailPattern(*pattern, nil, opts.Source); err != nil {
		return nil, cmdutil.Usagef(ios, "console", "%v", err)
	}
	return opts, nil
}

// Run serves the console until ctx ends, then removes its tail's rule and queue.
func Run(ctx context.Context, opts *Options) int {
	stdout, stderr := opts.IO.Out, opts.IO.ErrOut
	cfg, st, err := opts.Stack.Open(ctx)
	if err != nil {
		return cmdutil.Fail(stderr, "console", err)
	}
	v, err := stackview.New(cfg, st, stackview.Options{Pattern: opts.Pattern, Source: opts.Source})
	if err != nil {
		return cmdutil.Fail(stderr, "console", err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return cmdutil.Fail(stderr, "console", fmt.Errorf("--addr: %w", err))
	}
	c, err := webconsole.New(stackconsole.New(v), webconsole.Options{Addr: ln.Addr().String(), Title: "stack " + st.Name})
	if err != nil {
		ln.Close()
		return cmdutil.Fail(stderr, "console", err)
	}
	tail := v.StartTail(ctx)
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "peerbridge console: stack %s (%s)\n  console  %s   (open it in your browser; the link works once)\n  Ctrl-C stops it and removes its tail's rule and queue\n", st.Name, cfg.Region, c.URL())
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if srv.Shutdown(sctx) != nil {
		srv.Close()
	}
	cancel()
	terr := tail.Stop()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return cmdutil.Fail(stderr, "console", err)
	}
	if terr != nil {
		return cmdutil.Fail(stderr, "console", fmt.Errorf("the tail's rule and queue: %w", terr))
	}
	fmt.Fprintln(stdout, "stopped: the tail's rule and queue are removed")
	return 0
}
