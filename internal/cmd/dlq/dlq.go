// Package dlq is `peerbridge dlq list|show|redrive|purge`: a deployed stack's
// dead-letter queues, or with --local a running serve's dead-letter lists.
package dlq

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/operate"
)

const usage = `usage: peerbridge dlq list|show|redrive|purge [flags]

  list     the messages of a dead-letter queue and why each failed
  show     one message, whole (--id: its SQS message id or delivery id)
  redrive  move messages back to be processed again (--all, or --id ID ...)
  purge    delete every message of the queue (asks unless --yes)

flags:
`

// Local runs a subcommand against the running serve's admin endpoint (serve's side of
// --local): it returns the exit status.
type Local func(ctx context.Context, adminAddr, sub, kind string, ids []string, all, asJSON bool, limit int, stdout, stderr io.Writer) int

// Options are dlq's subcommand and flags, checked.
type Options struct {
	IO        cmdutil.IOStreams
	Local     Local // with UseLocal
	Stack     cmdutil.StackFlags
	Sub       string // list, show, redrive or purge
	Queue     string // operate.Webhooks or operate.Events
	IDs       []string
	All       bool // redrive every message
	Yes       bool // purge without asking
	Limit     int  // list at most this many (0: all)
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

// Parse reads the command line into Options and checks that the subcommand has what it
// needs.
func Parse(ios cmdutil.IOStreams, args []string) (*Options, error) {
	opts := &Options{IO: ios}
	fs := cmdutil.NewFlagSet("dlq", ios, args, func(w io.Writer) { fmt.Fprint(w, usage) })
	opts.Stack.Register(fs)
	fs.StringVar(&opts.Queue, "queue", operate.Webhooks, "which dead-letter queue: webhooks (deliveries the worker failed on) or events (events a rule or action failed on)")
	var ids cmdutil.MultiFlag
	fs.Var(&ids, "id", "a message's SQS message id or delivery id (repeatable)")
	fs.BoolVar(&opts.All, "all", false, "redrive: every message")
	fs.BoolVar(&opts.Yes, "yes", false, "purge: do not ask for confirmation")
	fs.IntVar(&opts.Limit, "limit", 0, "list: at most this many messages (0: all)")
	fs.BoolVar(&opts.UseLocal, "local", false, "the running peerbridge serve (its admin endpoint) instead of a deployed stack; there, events can be redriven too")
	fs.StringVar(&opts.AdminAddr, "admin-addr", "", "with --local, when several serves run: the `address` of the one to ask (its serve --admin-addr)")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) != 1 {
		fs.Usage()
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	opts.Sub, opts.IDs = argv[0], ids
	if opts.Queue != operate.Webhooks && opts.Queue != operate.Events {
		return nil, cmdutil.Usagef(ios, "dlq", "--queue is webhooks or events, not %q", opts.Queue)
	}
	switch opts.Sub {
	case "list", "purge":
	case "show":
		if len(opts.IDs) != 1 {
			return nil, cmdutil.Usagef(ios, "dlq show", "name one message with --id")
		}
	case "redrive":
		if opts.All == (len(opts.IDs) > 0) {
			return nil, cmdutil.Usagef(ios, "dlq redrive", "pass --all, or --id for each message to move back")
		}
		if opts.Queue == operate.Events && !opts.UseLocal {
			return nil, cmdutil.Usagef(ios, "dlq redrive", "events have no queue to go back to; re-run them from the archive with `peerbridge replay --rule RULE`, then `peerbridge dlq purge --queue events`")
		}
	default:
		fmt.Fprintf(ios.ErrOut, "peerbridge dlq: unknown subcommand %q\n\n", opts.Sub)
		fs.Usage()
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	return opts, nil
}

// Run runs the subcommand on the stack's queue (or, with UseLocal, on serve's list).
func Run(ctx context.Context, opts *Options) int {
	stderr := opts.IO.ErrOut
	if opts.UseLocal {
		if opts.Local == nil {
			return cmdutil.Fail(stderr, "dlq "+opts.Sub+" --local", errors.New("not available in this build"))
		}
		return opts.Local(ctx, opts.AdminAddr, opts.Sub, opts.Queue, opts.IDs, opts.All, opts.Stack.JSON, opts.Limit, opts.IO.Out, stderr)
	}
	cfg, st, err := opts.Stack.Open(ctx)
	if err != nil {
		return cmdutil.Fail(stderr, "dlq "+opts.Sub, err)
	}
	output := operate.OutputWebhookDLQURL
	if opts.Queue == operate.Events {
		output = operate.OutputEventDLQURL
	}
	url, err := st.Output(output)
	if err != nil {
		return cmdutil.Fail(stderr, "dlq "+opts.Sub, err)
	}
	d := operate.DLQ{SQS: sqs.NewFromConfig(cfg), URL: url, Kind: opts.Queue,
		Logs: cloudwatchlogs.NewFromConfig(cfg), WorkerLogGroup: st.WorkerLogGroup()}
	switch opts.Sub {
	case "list":
		return list(ctx, d, opts)
	case "show":
		return show(ctx, d, opts)
	case "purge":
		return purge(ctx, d, st, opts)
	}
	return redrive(ctx, d, st, opts)
}

func list(ctx context.Context, d operate.DLQ, opts *Options) int {
	letters, err := d.List(ctx, opts.Limit, false)
	if err != nil {
		return cmdutil.Fail(opts.IO.ErrOut, "dlq list", err)
	}
	if opts.Stack.JSON {
		cmdutil.PrintJSON(opts.IO.Out, letters)
		return 0
	}
	PrintDeadLetters(opts.IO.Out, opts.Queue, letters)
	return 0
}

func show(ctx context.Context, d operate.DLQ, opts *Options) int {
	l, err := d.Show(ctx, opts.IDs[0])
	if err != nil {
		return cmdutil.Fail(opts.IO.ErrOut, "dlq show", err)
	}
	if opts.Stack.JSON {
		cmdutil.PrintJSON(opts.IO.Out, l)
		return 0
	}
	PrintDeadLetters(opts.IO.Out, opts.Queue, []operate.DeadLetter{l})
	fmt.Fprintf(opts.IO.Out, "\n%s\n", IndentJSON(l.Body))
	return 0
}

// purge deletes every message of the queue, after asking on stdin unless Yes.
func purge(ctx context.Context, d operate.DLQ, st operate.Stack, opts *Options) int {
	stderr := opts.IO.ErrOut
	visible, _, err := d.Count(ctx)
	if err != nil {
		return cmdutil.Fail(stderr, "dlq purge", err)
	}
	if !opts.Yes {
		fmt.Fprintf(stderr, "Delete all %d messages of the %s dead-letter queue of %s for good? Type yes: ", visible, opts.Queue, st.Name)
		var answer string
		if opts.IO.In != nil {
			answer, _ = bufio.NewReader(opts.IO.In).ReadString('\n')
		}
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(stderr, "Nothing deleted.")
			return 1
		}
	}
	if err := d.Purge(ctx); err != nil {
		return cmdutil.Fail(stderr, "dlq purge", err)
	}
	fmt.Fprintf(stderr, "Purged the %s dead-letter queue (%d messages).\n", opts.Queue, visible)
	return 0
}

// redrive moves the messages back to the webhook queue: with All through an SQS move
// task, else (or when SQS cannot start one) one message at a time.
func redrive(ctx context.Context, d operate.DLQ, st operate.Stack, opts *Options) int {
	stdout, stderr := opts.IO.Out, opts.IO.ErrOut
	to, err := st.Output(operate.OutputWebhookQueueURL)
	if err != nil {
		return cmdutil.Fail(stderr, "dlq redrive", err)
	}
	ids := opts.IDs
	if opts.All {
		ids = nil // all of them: SQS's move task where it can
	}
	result, err := operate.RedriveWebhooks(ctx, d, to, ids,
		operate.Redrive{Progress: func(moved int) { fmt.Fprintf(stderr, "\rmoved %d", moved) }},
		func(moved, total int) { fmt.Fprintf(stderr, "\rmoved %d of %d", moved, total) })
	if result.Moved > 0 {
		fmt.Fprintln(stderr)
	}
	if result.MoveTaskErr != nil {
		fmt.Fprintf(stderr, "SQS could not start a move task (%v); moved one message at a time.\n", result.MoveTaskErr)
	}
	if err != nil && result.Method == "move task" {
		return cmdutil.Fail(stderr, "dlq redrive", err)
	}
	if err != nil {
		return cmdutil.Fail(stderr, "dlq redrive", fmt.Errorf("%w (moved %d; run it again to go on: none is sent twice)", err, result.Moved))
	}
	if result.StillHidden > 0 {
		fmt.Fprintf(stderr, "%d messages are still hidden by an interrupted redrive; run it again in a minute.\n", result.StillHidden)
	}
	if opts.Stack.JSON {
		cmdutil.PrintJSON(stdout, result)
		return 0
	}
	fmt.Fprintf(stdout, "Moved %d messages back to the webhook queue (%s).\n", result.Moved, result.Method)
	if len(opts.IDs) > result.Moved {
		fmt.Fprintf(stdout, "%d of the %d ids named were not found in the dead-letter queue.\n", len(opts.IDs)-result.Moved, len(opts.IDs))
		return 1
	}
	return 0
}

// PrintDeadLetters prints dead letters as a table (the webhook queue's and the event
// queue's have their own columns).
func PrintDeadLetters(w io.Writer, kind string, letters []operate.DeadLetter) {
	if len(letters) == 0 {
		fmt.Fprintf(w, "The %s dead-letter queue is empty.\n", kind)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if kind == operate.Webhooks {
		fmt.Fprintln(tw, "DELIVERY\tRECEIVED\tRECEIVES\tWHY IT FAILED")
		for _, l := range letters {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", orElse(l.DeliveryID, l.MessageID), timeOrDash(l.ReceivedAt), l.ReceiveCount, l.Reason)
		}
	} else {
		fmt.Fprintln(tw, "EVENT\tDETAIL-TYPE\tSENT\tRULE\tTARGET\tERROR")
		for _, l := range letters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orElse(l.EventID, l.MessageID), l.DetailType, timeOrDash(l.SentAt), orElse(l.Rule, "-"), orElse(l.Target, "-"), l.Reason)
		}
	}
	tw.Flush()
}

func orElse(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// IndentJSON is body indented, or body as it is when it is not JSON.
func IndentJSON(body string) string {
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return body
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
