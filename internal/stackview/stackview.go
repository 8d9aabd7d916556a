// Package stackview is the data side of `peerbridge console --stack NAME`: the console
// served on the user's machine against a deployed stack. A View finds the stack by its
// CloudFormation outputs and gives the console its status (queue depth, oldest message,
// alarms, the last hour's metrics), its dead-letter queues (list with the error,
// redrive, purge) and a live tail of its bus, each event decoded to peerbridge's event
// contract and published, with the rules and targets it matched, as internal/observe
// records: the console shows them as it shows serve's.
//
// It is internal/operate (what `status`, `dlq` and `tail --stack` do) held open for a
// page: the same calls, the same IAM actions, the same temporary rule and queue for the
// tail, removed when the tail ends (its context cancelled: Ctrl-C, SIGTERM, a closed
// terminal) and, if the process is killed, by the next tail once their expiry passed.
//
// A command uses it so:
//
//	v, err := stackview.New(cfg, stack, stackview.Options{}) // or Open(ctx, cfg, name, …)
//	tail := v.StartTail(ctx) // ctx ends on SIGINT, SIGTERM, SIGHUP
//	defer tail.Stop()        // removes the rule and queue before the process exits
//	// the console reads v.Stream() as serve's stream (events, routes, redrives, purges);
//	// its status page is v.Status(ctx, false) (and v.TailStatus()); its dead-letter page
//	// v.DeadLetters(ctx, queue, 0, true), v.Redrive(ctx, queue, ids), v.Purge(ctx, queue)
//	// with queue stackview.Webhooks or stackview.Events ("webhooks", "events").
package stackview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Defaults of Options.
const (
	DefaultStatusInterval  = 5 * time.Second
	DefaultMetricsInterval = time.Minute
)

// Options tune a View; the zero value is the console's defaults.
type Options struct {
	// Pattern is the tail rule's EventBridge pattern (JSON); empty: every event of Source.
	Pattern string
	// Source is the stack's event source (its EventSource parameter); empty: "peerdom".
	Source string
	// Stream is where the tail publishes each event, as observe records (the console
	// reads it as it reads serve's); nil: a stream of the View's own, its ring bounded
	// by MaxRecords records and MaxBytes (0: observe's defaults, 10,000 and 64 MiB).
	// An event is a record, and one more for each rule (and target) it matched.
	Stream               *observe.Stream
	MaxRecords, MaxBytes int
	// StatusInterval is how long Status reuses the queues' depths (three SQS requests)
	// before it asks SQS again, and MetricsInterval how long it reuses the CloudWatch
	// part (alarms, oldest age, the last hour's sums: 11 metrics of GetMetricData, billed
	// per metric), so a page that polls, or several tabs, cost one set of calls per
	// interval. 0: DefaultStatusInterval, DefaultMetricsInterval; negative: never reused.
	StatusInterval, MetricsInterval time.Duration
	// JournalDir holds the redrive journals; empty: operate.DefaultJournal's directory
	// (your cache directory), shared with `peerbridge dlq redrive`.
	JournalDir string
	// Now is the clock; nil: time.Now.
	Now func() time.Time

	// retryBackoff is the first wait after a failed receive of the tail (doubled up to
	// 30 s); 0: one second. Tests shorten it.
	retryBackoff time.Duration
}

// View is one deployed stack, opened for the console. Its methods are safe for
// concurrent use.
type View struct {
	cfg    aws.Config
	stack  operate.Stack
	opts   Options
	sqs    *sqs.Client
	eb     *eventbridge.Client
	logs   *cloudwatchlogs.Client
	stream *observe.Stream
	router router

	moveMu sync.Mutex // held by Redrive and Purge

	statusMu     sync.Mutex
	queues       operate.Status // ReadQueues's, read at queuesAt
	queuesAt     time.Time
	cloudWatch   operate.Status // ReadCloudWatch's, read at cloudWatchAt
	cloudWatchAt time.Time

	tailMu    sync.Mutex
	tail      TailState
	tailing   bool
	stateNews chan struct{}
}

// Open finds the stack by name (cloudformation:DescribeStacks) in cfg's region; cfg
// carries the user's credentials (cmd/peerbridge's stack flags load them).
func Open(ctx context.Context, cfg aws.Config, stackName string, opts Options) (*View, error) {
	st, err := operate.LookupStack(ctx, cfg, stackName)
	if err != nil {
		return nil, err
	}
	return New(cfg, st, opts)
}

// New is Open for a stack already looked up.
func New(cfg aws.Config, st operate.Stack, opts Options) (*View, error) {
	if _, err := st.Output(operate.OutputEventBusName); err != nil {
		return nil, err
	}
	if opts.MaxRecords < 0 || opts.MaxBytes < 0 {
		return nil, errors.New("stackview: MaxRecords and MaxBytes must not be negative")
	}
	stream := opts.Stream
	if stream == nil {
		stream = observe.New(observe.Options{Size: opts.MaxRecords, MaxBytes: opts.MaxBytes, Now: opts.Now})
	}
	opts.StatusInterval = cmp.Or(opts.StatusInterval, DefaultStatusInterval)
	opts.MetricsInterval = cmp.Or(opts.MetricsInterval, DefaultMetricsInterval)
	opts.Source = cmp.Or(opts.Source, peerdom.DefaultSource)
	opts.retryBackoff = cmp.Or(opts.retryBackoff, time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pattern, err := operate.TailPattern(opts.Pattern, nil, opts.Source)
	if err != nil {
		return nil, fmt.Errorf("stackview: %w", err)
	}
	opts.Pattern = pattern
	return &View{cfg: cfg, stack: st, opts: opts,
		sqs: sqs.NewFromConfig(cfg), eb: eventbridge.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		stream: stream, tail: TailState{State: TailIdle}, stateNews: make(chan struct{})}, nil
}

// Stream is the stream the tail publishes to (Options.Stream, or the View's own).
func (v *View) Stream() *observe.Stream { return v.stream }

// Stack is the stack as its outputs describe it (name, status, outputs).
func (v *View) Stack() operate.Stack { return v.stack }

// Status is the stack's status as `peerbridge status` shows it: the webhook URL (token
// hidden), the webhook queue's depth and oldest message's age, the dead-letter queues'
// depths, the stack's alarms (FiringAlarms keeps those in ALARM) and the last hour's
// sums of its metrics. The queues' depths are reused for Options.StatusInterval, the
// CloudWatch part (billed per metric read) for Options.MetricsInterval, unless fresh is
// set (a person pressed refresh).
func (v *View) Status(ctx context.Context, fresh bool) (operate.Status, error) {
	v.statusMu.Lock()
	defer v.statusMu.Unlock()
	now := v.opts.Now()
	stale := func(at time.Time, every time.Duration) bool {
		return fresh || at.IsZero() || every <= 0 || now.Sub(at) >= every
	}
	if stale(v.queuesAt, v.opts.StatusInterval) {
		q, err := operate.ReadQueues(ctx, v.cfg, v.stack)
		if err != nil {
			return q, err
		}
		v.queues, v.queuesAt = q, now
	}
	if stale(v.cloudWatchAt, v.opts.MetricsInterval) {
		cw, err := operate.ReadCloudWatch(ctx, v.cfg, v.stack, now)
		if err != nil {
			return cw, err
		}
		v.cloudWatch, v.cloudWatchAt = cw, now
	}
	st := v.cloudWatch
	st.Queue.Visible, st.Queue.InFlight = v.queues.Queue.Visible, v.queues.Queue.InFlight
	st.DLQs = slices.Clone(v.queues.DLQs)
	st.Alarms = slices.Clone(st.Alarms)
	st.LastHour = maps.Clone(st.LastHour)
	return st, nil
}

// FiringAlarms are the alarms of s in state ALARM.
func FiringAlarms(s operate.Status) []operate.Alarm {
	var out []operate.Alarm
	for _, a := range s.Alarms {
		if a.State == "ALARM" {
			out = append(out, a)
		}
	}
	return out
}
