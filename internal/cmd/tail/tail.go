// Package tail is `peerbridge tail [--pattern JSON] [--detail-type TYPE ...]
// [--forward-to URL] [--cleanup]`: a deployed stack's events live, through a temporary
// rule and queue it removes on exit.
package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Display makes what shows each event on w (serve's display); nil prints each event's
// JSON.
type Display func(w io.Writer) func(events.CloudWatchEvent)

// Options are tail's flags.
type Options struct {
	IO        cmdutil.IOStreams
	Display   Display
	Stack     cmdutil.StackFlags
	Pattern   string // the rule's event pattern, made from the flags
	ForwardTo string // a URL each event's JSON is posted to
	Cleanup   bool   // only remove expired tails
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, display Display, args []string) int {
	opts, err := Parse(ios, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	opts.Display = display
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, args []string) (*Options, error) {
	opts := &Options{IO: ios}
	fs := cmdutil.NewFlagSet("tail", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, `usage: peerbridge tail [--pattern JSON] [--detail-type TYPE ...] [--forward-to URL] [flags]

Shows the deployed bus's events live, as serve shows them, through a temporary rule and
queue (tagged peerbridge:tail, with a peerbridge:expires time) that it removes on exit,
Ctrl-C, SIGTERM and a closed terminal (SIGHUP) included. Each tail first removes the
rules and queues of earlier tails whose expiry has passed (a tail killed with -9);
--cleanup does only that. --forward-to POSTs each event's JSON to a URL, such as a
consumer running on your machine.

flags:`)
	})
	opts.Stack.Register(fs)
	pattern := fs.String("pattern", "", "an EventBridge event pattern (JSON) selecting the events (default: every event of --source)")
	var detailTypes cmdutil.MultiFlag
	fs.Var(&detailTypes, "detail-type", "only this detail-type (repeatable; ignored with --pattern)")
	source := fs.String("source", peerdom.DefaultSource, "the stack's event source (its EventSource parameter)")
	fs.StringVar(&opts.ForwardTo, "forward-to", "", "POST each event's JSON to this URL")
	fs.BoolVar(&opts.Cleanup, "cleanup", false, "only remove the rules and queues of earlier tails whose peerbridge:expires time has passed, then exit")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		fs.Usage()
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	if opts.Pattern, err = operate.TailPattern(*pattern, detailTypes, *source); err != nil {
		return nil, cmdutil.Usagef(ios, "tail", "%v", err)
	}
	return opts, nil
}

// Run removes expired tails, then (unless Cleanup) shows the bus's events until ctx
// ends, and removes its own rule and queue.
func Run(ctx context.Context, opts *Options) int {
	stderr := opts.IO.ErrOut
	cfg, st, err := opts.Stack.Open(ctx)
	if err != nil {
		return cmdutil.Fail(stderr, "tail", err)
	}
	bus, err := st.Output(operate.OutputEventBusName)
	if err != nil {
		return cmdutil.Fail(stderr, "tail", err)
	}
	removed, err := operate.RemoveExpiredTaps(ctx, sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), bus, st.Name, time.Now())
	for _, name := range removed {
		fmt.Fprintf(stderr, "Removed the expired rule and queue %s (left by an earlier tail).\n", name)
	}
	if opts.Cleanup {
		if err != nil {
			return cmdutil.Fail(stderr, "tail --cleanup", err)
		}
		fmt.Fprintf(stderr, "%d expired tail rules and queues removed.\n", len(removed))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge tail: removing expired tails: %v\n", err)
	}
	tap, err := operate.OpenTap(ctx, sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), bus, st.Name, opts.Pattern, time.Now())
	if err != nil {
		return cmdutil.Fail(stderr, "tail", err)
	}
	code := show(ctx, tap, opts)
	if err := tap.Close(ctx); err != nil {
		return cmdutil.Fail(stderr, "tail", err)
	}
	fmt.Fprintf(stderr, "Removed the rule and queue %s.\n", tap.Rule)
	return code
}

// show prints (and forwards) the tap's events until ctx ends.
func show(ctx context.Context, tap *operate.Tap, opts *Options) int {
	stdout, stderr := opts.IO.Out, opts.IO.ErrOut
	fmt.Fprintf(stderr, "Tailing bus %s through rule and queue %s; Ctrl-C stops and removes them.\n", tap.Bus, tap.Rule)
	var display func(events.CloudWatchEvent)
	if opts.Display != nil {
		display = opts.Display(stdout)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	handle := func(body string) {
		var ev events.CloudWatchEvent
		if !opts.Stack.JSON && display != nil && json.Unmarshal([]byte(body), &ev) == nil {
			display(ev)
		} else {
			fmt.Fprintln(stdout, body)
		}
		if opts.ForwardTo != "" {
			forward(ctx, client, opts.ForwardTo, body, stderr)
		}
	}
	onDeleteErr := func(err error) { fmt.Fprintf(stderr, "peerbridge tail: %v\n", err) }
	if err := tap.Follow(ctx, handle, onDeleteErr, nil); err != nil {
		return cmdutil.Fail(stderr, "tail", err)
	}
	return 0
}

// forward POSTs one event; a consumer that fails is reported, and tail goes on.
func forward(ctx context.Context, client *http.Client, url, body string, stderr io.Writer) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		fmt.Fprintf(stderr, "          ✗ forward: %v\n", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "          ✗ forward to %s: %v\n", url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(stderr, "          → %s %d\n", url, resp.StatusCode)
}
