package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/peerbridge/peerbridge/internal/console"
	"github.com/peerbridge/peerbridge/internal/console/stackconsole"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/stackview"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// runConsole serves the web console (internal/console) on this machine against a
// deployed stack: its status, its dead-letter queues, and its bus's events live through
// a temporary tail, removed when the console stops.
func runConsole(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: peerbridge console [--stack NAME] [--addr 127.0.0.1:PORT] [flags]

Serves the web console against a deployed stack, on this machine only: its status (queue
depth, oldest message, alarms, the last hour's metrics), its dead-letter queues (redrive,
purge) and its bus's events live, through a temporary rule and queue as peerbridge tail
makes, removed on exit (Ctrl-C, SIGTERM, a closed terminal). It prints the console's URL
with a one-time token. (serve has the same console on its admin address.)

flags:`)
		fs.PrintDefaults()
	}
	var sf stackFlags
	sf.register(fs)
	addr := fs.String("addr", "127.0.0.1:3004", "the console's address, on loopback (port 0: a free one)")
	pattern := fs.String("pattern", "", "an EventBridge event pattern (JSON) selecting the events shown (default: every event of --source)")
	source := fs.String("source", peerdom.DefaultSource, "the stack's event source (its EventSource parameter)")
	if argv, err := parseFlags(fs, args); err != nil || len(argv) > 0 {
		if err == nil {
			fs.Usage()
			return 2
		}
		return flagExit(err)
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !console.IsLoopback(host) {
		fmt.Fprintf(stderr, "peerbridge console: --addr %q: the console listens on a loopback address only (127.0.0.1:PORT)\n", *addr)
		return 2
	}
	rulePattern, err := operate.TailPattern(*pattern, nil, *source)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge console: %v\n", err)
		return 2
	}
	cfg, st, err := sf.open(ctx)
	if err != nil {
		return fail(stderr, "console", err)
	}
	v, err := stackview.New(cfg, st, stackview.Options{Pattern: rulePattern, Source: *source})
	if err != nil {
		return fail(stderr, "console", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(stderr, "console", fmt.Errorf("--addr: %w", err))
	}
	c, err := console.New(stackconsole.New(v), console.Options{Addr: ln.Addr().String(), Title: "stack " + st.Name})
	if err != nil {
		ln.Close()
		return fail(stderr, "console", err)
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
		return fail(stderr, "console", err)
	}
	if terr != nil {
		return fail(stderr, "console", fmt.Errorf("the tail's rule and queue: %w", terr))
	}
	fmt.Fprintln(stdout, "stopped: the tail's rule and queue are removed")
	return 0
}
