package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// stackFlags are the flags every operator command takes.
type stackFlags struct {
	stack, region, samconfig string
	json                     bool
}

func (f *stackFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.stack, "stack", "", "the deployed stack's name (default: stack_name of samconfig.toml's default environment)")
	fs.StringVar(&f.region, "region", "", "AWS region (default: AWS_REGION or your profile's region)")
	fs.StringVar(&f.samconfig, "samconfig", "samconfig.toml", "the sam configuration that names the default stack")
	fs.BoolVar(&f.json, "json", false, "print JSON for scripts instead of a table")
}

// open loads the AWS configuration with the standard credential chain (profiles, SSO,
// environment; AWS_ENDPOINT_URL for a stand-in such as moto) and finds the stack.
// The Lambdas avoid config.LoadDefaultConfig for their cold start; a command on a
// user's machine needs what it supports.
func (f *stackFlags) open(ctx context.Context) (aws.Config, operate.Stack, error) {
	name := f.stack
	if name == "" {
		var err error
		if name, err = operate.DefaultStackName(f.samconfig); err != nil {
			return aws.Config{}, operate.Stack{}, err
		}
	}
	var opts []func(*config.LoadOptions) error
	if f.region != "" {
		opts = append(opts, config.WithRegion(f.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, operate.Stack{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, operate.Stack{}, errors.New("no AWS region: pass --region, or set AWS_REGION or your profile's region")
	}
	st, err := operate.LookupStack(ctx, cfg, name)
	return cfg, st, err
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "peerbridge %s: %v\n", cmd, err)
	return 1
}

const dlqUsage = `usage: peerbridge dlq list|show|redrive|purge [flags]

  list     the messages of a dead-letter queue and why each failed
  show     one message, whole (--id: its SQS message id or delivery id)
  redrive  move messages back to be processed again (--all, or --id ID ...)
  purge    delete every message of the queue (asks unless --yes)

flags:
`

func runDLQ(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, dlqUsage); fs.PrintDefaults() }
	var sf stackFlags
	sf.register(fs)
	queueName := fs.String("queue", operate.Webhooks, "which dead-letter queue: webhooks (deliveries the worker failed on) or events (events a rule or action failed on)")
	var ids multiFlag
	fs.Var(&ids, "id", "a message's SQS message id or delivery id (repeatable)")
	all := fs.Bool("all", false, "redrive: every message")
	yes := fs.Bool("yes", false, "purge: do not ask for confirmation")
	limit := fs.Int("limit", 0, "list: at most this many messages (0: all)")
	local := fs.Bool("local", false, "the running peerbridge serve (its admin endpoint) instead of a deployed stack; there, events can be redriven too")
	adminAddr := fs.String("admin-addr", "", "with --local, when several serves run: the `address` of the one to ask (its serve --admin-addr)")
	argv, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(argv) != 1 {
		fs.Usage()
		return 2
	}
	sub := argv[0]
	if *queueName != operate.Webhooks && *queueName != operate.Events {
		fmt.Fprintf(stderr, "peerbridge dlq: --queue is webhooks or events, not %q\n", *queueName)
		return 2
	}
	switch sub {
	case "list", "purge":
	case "show":
		if len(ids) != 1 {
			fmt.Fprintln(stderr, "peerbridge dlq show: name one message with --id")
			return 2
		}
	case "redrive":
		if *all == (len(ids) > 0) {
			fmt.Fprintln(stderr, "peerbridge dlq redrive: pass --all, or --id for each message to move back")
			return 2
		}
		if *queueName == operate.Events && !*local {
			fmt.Fprintln(stderr, "peerbridge dlq redrive: events have no queue to go back to; re-run them from the archive with `peerbridge replay --rule RULE`, then `peerbridge dlq purge --queue events`")
			return 2
		}
	default:
		fmt.Fprintf(stderr, "peerbridge dlq: unknown subcommand %q\n\n", sub)
		fs.Usage()
		return 2
	}

	if *local {
		return runDLQLocal(ctx, *adminAddr, sub, *queueName, ids, *all, sf.json, *limit, stdout, stderr)
	}
	cfg, st, err := sf.open(ctx)
	if err != nil {
		return fail(stderr, "dlq "+sub, err)
	}
	output := operate.OutputWebhookDLQURL
	if *queueName == operate.Events {
		output = operate.OutputEventDLQURL
	}
	url, err := st.Output(output)
	if err != nil {
		return fail(stderr, "dlq "+sub, err)
	}
	d := operate.DLQ{SQS: sqs.NewFromConfig(cfg), URL: url, Kind: *queueName,
		Logs: cloudwatchlogs.NewFromConfig(cfg), WorkerLogGroup: st.WorkerLogGroup()}

	switch sub {
	case "list":
		letters, err := d.List(ctx, *limit, false)
		if err != nil {
			return fail(stderr, "dlq list", err)
		}
		if sf.json {
			printJSON(stdout, letters)
			return 0
		}
		printDeadLetters(stdout, *queueName, letters)
	case "show":
		l, err := d.Show(ctx, ids[0])
		if err != nil {
			return fail(stderr, "dlq show", err)
		}
		if sf.json {
			printJSON(stdout, l)
			return 0
		}
		printDeadLetters(stdout, *queueName, []operate.DeadLetter{l})
		fmt.Fprintf(stdout, "\n%s\n", indentJSON(l.Body))
	case "purge":
		visible, _, err := d.Count(ctx)
		if err != nil {
			return fail(stderr, "dlq purge", err)
		}
		if !*yes {
			fmt.Fprintf(stderr, "Delete all %d messages of the %s dead-letter queue of %s for good? Type yes: ", visible, *queueName, st.Name)
			answer, _ := bufio.NewReader(stdin).ReadString('\n')
			if strings.TrimSpace(answer) != "yes" {
				fmt.Fprintln(stderr, "Nothing deleted.")
				return 1
			}
		}
		if err := d.Purge(ctx); err != nil {
			return fail(stderr, "dlq purge", err)
		}
		fmt.Fprintf(stderr, "Purged the %s dead-letter queue (%d messages).\n", *queueName, visible)
	case "redrive":
		return redrive(ctx, d, st, ids, *all, sf.json, stdout, stderr)
	}
	return 0
}

func redrive(ctx context.Context, d operate.DLQ, st operate.Stack, ids []string, all, asJSON bool, stdout, stderr io.Writer) int {
	to, err := st.Output(operate.OutputWebhookQueueURL)
	if err != nil {
		return fail(stderr, "dlq redrive", err)
	}
	result := struct {
		Moved   int    `json:"moved"`
		Method  string `json:"method"`
		Waiting int    `json:"stillHidden,omitempty"`
	}{}
	if all {
		result.Method = "move task"
		result.Moved, err = d.MoveTask(ctx, func(moved, total int) { fmt.Fprintf(stderr, "\rmoved %d of %d", moved, total) })
		if err == nil {
			fmt.Fprintln(stderr)
		}
		if err != nil && !errors.Is(err, operate.ErrMoveTaskUnavailable) {
			return fail(stderr, "dlq redrive", err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "SQS could not start a move task (%v); moving one message at a time.\n", err)
		}
	}
	if !all || err != nil {
		result.Method = "one by one"
		result.Moved, result.Waiting, err = d.MoveOneByOne(ctx, operate.Redrive{To: to, IDs: ids,
			Progress: func(moved int) { fmt.Fprintf(stderr, "\rmoved %d", moved) }})
		if result.Moved > 0 {
			fmt.Fprintln(stderr)
		}
		if err != nil {
			return fail(stderr, "dlq redrive", fmt.Errorf("%w (moved %d; run it again to go on: none is sent twice)", err, result.Moved))
		}
		if result.Waiting > 0 {
			fmt.Fprintf(stderr, "%d messages are still hidden by an interrupted redrive; run it again in a minute.\n", result.Waiting)
		}
	}
	if asJSON {
		printJSON(stdout, result)
		return 0
	}
	fmt.Fprintf(stdout, "Moved %d messages back to the webhook queue (%s).\n", result.Moved, result.Method)
	if len(ids) > result.Moved {
		fmt.Fprintf(stdout, "%d of the %d ids named were not found in the dead-letter queue.\n", len(ids)-result.Moved, len(ids))
		return 1
	}
	return 0
}

func printDeadLetters(w io.Writer, kind string, letters []operate.DeadLetter) {
	if len(letters) == 0 {
		fmt.Fprintf(w, "The %s dead-letter queue is empty.\n", kind)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if kind == operate.Webhooks {
		fmt.Fprintln(tw, "DELIVERY\tRECEIVED\tRECEIVES\tWHY IT FAILED")
		for _, l := range letters {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", cmpOrDash(l.DeliveryID, l.MessageID), timeOrDash(l.ReceivedAt), l.ReceiveCount, l.Reason)
		}
	} else {
		fmt.Fprintln(tw, "EVENT\tDETAIL-TYPE\tSENT\tRULE\tTARGET\tERROR")
		for _, l := range letters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cmpOrDash(l.EventID, l.MessageID), l.DetailType, timeOrDash(l.SentAt), cmpOrDash(l.Rule, "-"), cmpOrDash(l.Target, "-"), l.Reason)
		}
	}
	tw.Flush()
}

func cmpOrDash(s, alt string) string {
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

func indentJSON(body string) string {
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return body
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runStatus(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge status [flags]\n\nThe deployed stack: its webhook URL (token hidden), queue depth, dead-letter queues, alarms, and the last hour's counts.\n\nflags:")
		fs.PrintDefaults()
	}
	var sf stackFlags
	sf.register(fs)
	local := fs.Bool("local", false, "the running peerbridge serve (its admin endpoint) instead of a deployed stack")
	adminAddr := fs.String("admin-addr", "", "with --local, when several serves run: the `address` of the one to ask (its serve --admin-addr)")
	if argv, err := parseFlags(fs, args); err != nil || len(argv) > 0 {
		if err == nil {
			fs.Usage()
			return 2
		}
		return flagExit(err)
	}
	if *local {
		return runStatusLocal(ctx, *adminAddr, sf.json, stdout, stderr)
	}
	cfg, st, err := sf.open(ctx)
	if err != nil {
		return fail(stderr, "status", err)
	}
	s, err := operate.ReadStatus(ctx, cfg, st, time.Now())
	if err != nil {
		return fail(stderr, "status", err)
	}
	if sf.json {
		printJSON(stdout, s)
		return 0
	}
	printStatus(stdout, s)
	return 0
}

func printStatus(w io.Writer, s operate.Status) {
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
