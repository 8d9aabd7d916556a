package stackview

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// Section is one table of the console's status page; Row one named value of it, Bad
// when it asks for attention (a dead letter waiting, an alarm firing, the tail failing).
type Section struct {
	Title string
	Rows  []Row
}

// Row is one named value of a Section.
type Row struct {
	Name, Value string
	Bad         bool
}

// StatusSections is the status page, as `peerbridge status` prints it: the stack, its
// queues, its alarms (those in ALARM first), the last hour's counts, and the live tail's state. Status's
// intervals apply: the queues at most StatusInterval old, the rest MetricsInterval.
func (v *View) StatusSections(ctx context.Context) ([]Section, error) {
	s, err := v.Status(ctx, false)
	if err != nil {
		return nil, err
	}
	v.statusMu.Lock()
	queuesAt, cloudWatchAt := v.queuesAt, v.cloudWatchAt
	v.statusMu.Unlock()
	now := v.opts.Now()
	ago := func(t time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" }

	stack := Section{Title: "Stack", Rows: []Row{
		{Name: "stack", Value: fmt.Sprintf("%s (%s)", s.Stack, s.StackStatus)},
		{Name: "webhook URL", Value: s.WebhookURL},
		{Name: "read", Value: fmt.Sprintf("queues %s, CloudWatch %s", ago(queuesAt), ago(cloudWatchAt))},
	}}
	age := "no data"
	if s.Queue.OldestAge != nil {
		age = s.Queue.OldestAge.String()
	}
	queues := Section{Title: "Queues", Rows: []Row{
		{Name: "webhook queue", Value: fmt.Sprintf("%d waiting, %d in flight", s.Queue.Visible, s.Queue.InFlight)},
		{Name: "oldest webhook waiting", Value: age},
	}}
	for _, q := range s.DLQs {
		n := q.Visible + q.InFlight
		queues.Rows = append(queues.Rows, Row{Name: q.Name, Value: strconv.Itoa(n), Bad: n > 0})
	}
	alarms := Section{Title: "Alarms"}
	// Those in ALARM first, then by name.
	slices.SortStableFunc(s.Alarms, func(a, b operate.Alarm) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), cmp.Compare(a.Name, b.Name))
	})
	for _, a := range s.Alarms {
		value := a.State
		if a.State == "ALARM" && a.Reason != "" {
			value += ": " + a.Reason
		}
		alarms.Rows = append(alarms.Rows, Row{Name: a.Name, Value: value, Bad: a.State == "ALARM"})
	}
	if len(alarms.Rows) == 0 {
		alarms.Rows = []Row{{Name: "alarms", Value: "none found"}}
	}
	hour := Section{Title: "Last hour"}
	for _, name := range metrics.Names {
		if n, ok := s.LastHour[name]; ok {
			hour.Rows = append(hour.Rows, Row{Name: name, Value: strconv.FormatFloat(n, 'f', -1, 64),
				Bad: n > 0 && (name == metrics.DeliveriesFailed || name == metrics.ActionsFailed)})
		}
	}
	if len(hour.Rows) == 0 {
		hour.Rows = []Row{{Name: "metrics", Value: "none (none emitted yet, or CloudWatch has not aggregated them)"}}
	}
	return []Section{stack, queues, alarms, hour, v.tailSection()}, nil
}

func (v *View) tailSection() Section {
	t, _ := v.TailStatus()
	sec := Section{Title: "Live events", Rows: []Row{{Name: "tail", Value: t.State, Bad: t.State == TailFailed || t.State == TailRetrying}}}
	if t.Rule != "" {
		sec.Rows = append(sec.Rows, Row{Name: "rule and queue", Value: t.Rule + " (removed when the console stops)"})
	}
	if !t.Since.IsZero() {
		sec.Rows = append(sec.Rows, Row{Name: "since", Value: t.Since.UTC().Format(time.RFC3339)})
	}
	sec.Rows = append(sec.Rows, Row{Name: "pattern", Value: t.Pattern})
	if t.Err != "" {
		sec.Rows = append(sec.Rows, Row{Name: "last error", Value: t.Err, Bad: true})
	}
	for _, name := range t.RemovedExpired {
		sec.Rows = append(sec.Rows, Row{Name: "removed expired", Value: name})
	}
	return sec
}

// DeadLetterQueueOf maps the console's queue names to the View's: "actions" (serve's
// name for the events whose actions failed) is Events here.
func DeadLetterQueueOf(name string) string {
	if name == "actions" {
		return Events
	}
	return name
}

func rank(state string) int {
	if state == "ALARM" {
		return 0
	}
	return 1
}
