// Package metrics writes CloudWatch metrics as embedded-metric-format (EMF) log lines: a
// Lambda prints one JSON line to stdout and CloudWatch Logs extracts the metrics from
// it, with no API call and no extra permission. Each line counts what one request,
// batch or event did.
//
// Every distinct (namespace, name, dimensions) is a custom metric CloudWatch bills
// ($0.30 a month, pro-rated by the hours it receives data), so there are two levels
// (the template's Metrics parameter, METRICS_LEVEL):
//   - basic (the default): the failure counts, Basic, undimensioned, zero counts never
//     written, at most one line per invocation. A healthy stack writes none, so it pays
//     for none (and reconciliation writes its ReconcileDifferences only when it found
//     some). The alarms watch AWS's own metrics (free): SQS depth and age, Lambda errors.
//     `peerbridge status` shows WebhooksAccepted and EventsPublished from the webhook
//     queue's SQS NumberOfMessagesSent and NumberOfMessagesDeleted (free).
//   - detailed: every name, undimensioned and by its dimension (Reason, DetailType,
//     Action): about 35 metrics.
//
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// The metrics peerbridge emits, all counts.
const (
	WebhooksAccepted = "WebhooksAccepted" // ingest queued it
	WebhooksRejected = "WebhooksRejected" // ingest refused it; dimension Reason (the outcome)
	EventsPublished  = "EventsPublished"  // the worker put it on the bus; dimension DetailType
	Unrecognized     = "UnrecognizedMessages"
	Oversized        = "Oversized"        // too large for the bus (ingest refused it, or the worker dropped it)
	DeliveriesFailed = "DeliveriesFailed" // the worker reported it for retry
	ActionsDone      = "ActionsDone"      // dimension Action
	ActionsIgnored   = "ActionsIgnored"   // dimension Action
	ActionsFailed    = "ActionsFailed"    // dimension Action
)

// Names lists every metric, for readers that sum them (peerbridge status).
var Names = []string{WebhooksAccepted, WebhooksRejected, EventsPublished, Unrecognized, Oversized, DeliveriesFailed,
	ActionsDone, ActionsIgnored, ActionsFailed}

// Basic lists the metrics written at the basic level: the counts of failures, which a
// healthy stack never writes (a custom metric is billed only for the hours it receives
// data). The counts of work done (WebhooksAccepted, EventsPublished, ActionsDone,
// ActionsIgnored) and UnrecognizedMessages, which Peerdom's test messages feed, are
// written at detailed only.
var Basic = []string{WebhooksRejected, Oversized, DeliveriesFailed, ActionsFailed}

// The levels (METRICS_LEVEL); an empty or unknown level is basic.
const (
	LevelBasic    = "basic"
	LevelDetailed = "detailed"
)

// Namespace is the stack's CloudWatch namespace (the template gives it to the functions
// as METRICS_NAMESPACE): one per stack, so two stacks in an account do not add up,
// without a dimension for it.
func Namespace(stack string) string { return "peerbridge/" + stack }

// Writer writes EMF lines to W. A nil Writer, or one without a namespace, writes nothing:
// a function run outside a stack (tests, serve) emits no metrics.
type Writer struct {
	W         io.Writer
	Namespace string
	Now       func() time.Time // nil: time.Now
	// Detailed writes every name, each by its dimension too; false (basic) writes the
	// Basic names only, undimensioned.
	Detailed bool

	mu sync.Mutex // one line at a time
}

// New returns a basic Writer for namespace (empty: a Writer that writes nothing).
func New(w io.Writer, namespace string) *Writer { return &Writer{W: w, Namespace: namespace} }

// FromEnv is the Writer a function configures from METRICS_NAMESPACE and METRICS_LEVEL
// (basic unless "detailed").
func FromEnv(w io.Writer, getenv func(string) string) *Writer {
	return &Writer{W: w, Namespace: getenv("METRICS_NAMESPACE"), Detailed: getenv("METRICS_LEVEL") == LevelDetailed}
}

// IsDetailed reports whether w writes dimensioned metrics (false for a nil Writer).
func (w *Writer) IsDetailed() bool { return w != nil && w.Detailed }

type directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []metric   `json:"Metrics"`
}

type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Count writes one line with the given counts (name → value; zero counts are left out,
// and no line is written when all are zero). Detailed, with a dimension name, each count
// is also recorded under dimension=value; basic, only the Basic names are written and
// the dimension is ignored.
func (w *Writer) Count(counts map[string]int, dimension, value string) error {
	if w == nil || w.Namespace == "" {
		return nil
	}
	names := Names
	if !w.Detailed {
		names, dimension = Basic, ""
	}
	line := map[string]any{}
	d := directive{Namespace: w.Namespace, Dimensions: [][]string{{}}}
	if dimension != "" {
		d.Dimensions = append(d.Dimensions, []string{dimension})
		if value == "" {
			value = "unknown" // CloudWatch refuses an empty dimension value
		}
		line[dimension] = value
	}
	for _, name := range names { // a fixed order: the same line for the same counts
		if n := counts[name]; n != 0 {
			d.Metrics = append(d.Metrics, metric{Name: name, Unit: "Count"})
			line[name] = n
		}
	}
	if len(d.Metrics) == 0 {
		return nil
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	line["_aws"] = map[string]any{"Timestamp": now().UnixMilli(), "CloudWatchMetrics": []directive{d}}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.W.Write(append(b, '\n'))
	return err
}
