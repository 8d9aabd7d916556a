package console

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/peerbridge/peerbridge/internal/operate"
)

// OperateStatus is the status page of `peerbridge status`'s figures: the stack, its
// queues' depths and oldest age, the dead-letter queues, the alarms, and the last hour's
// metrics (or serve's counts since it started).
func OperateStatus(st operate.Status) Status {
	var out Status
	stack := StatusSection{Title: "Stack", Rows: []StatusRow{{Name: "name", Value: st.Stack}, {Name: "status", Value: st.StackStatus}}}
	if st.WebhookURL != "" {
		stack.Rows = append(stack.Rows, StatusRow{Name: "webhook URL", Value: st.WebhookURL})
	}
	out.Sections = append(out.Sections, stack)
	queues := StatusSection{Title: "Queues"}
	q := st.Queue
	row := StatusRow{Name: q.Name, Value: fmt.Sprintf("%d waiting, %d in flight", q.Visible, q.InFlight)}
	if q.OldestAge != nil {
		row.Value += ", oldest " + q.OldestAge.Truncate(time.Second).String()
		row.Bad = *q.OldestAge > 15*time.Minute // the stack's WebhookQueueAgeAlarm
	}
	queues.Rows = append(queues.Rows, row)
	for _, d := range st.DLQs {
		queues.Rows = append(queues.Rows, StatusRow{Name: d.Name, Value: strconv.Itoa(d.Visible + d.InFlight), Bad: d.Visible+d.InFlight > 0})
	}
	out.Sections = append(out.Sections, queues)
	if len(st.Alarms) > 0 {
		alarms := StatusSection{Title: "Alarms"}
		for _, a := range st.Alarms {
			v := a.State
			if a.Reason != "" && a.State == "ALARM" {
				v += ": " + a.Reason
			}
			alarms.Rows = append(alarms.Rows, StatusRow{Name: a.Name, Value: v, Bad: a.State == "ALARM"})
		}
		out.Sections = append(out.Sections, alarms)
	}
	title := "The last hour"
	if !st.CountsSince.IsZero() {
		title = "Since " + st.CountsSince.Local().Format("2006-01-02 15:04:05")
	}
	metrics := StatusSection{Title: title}
	for _, name := range slices.Sorted(maps.Keys(st.LastHour)) {
		metrics.Rows = append(metrics.Rows, StatusRow{Name: name, Value: strconv.FormatFloat(st.LastHour[name], 'f', -1, 64)})
	}
	if len(metrics.Rows) == 0 {
		metrics.Rows = []StatusRow{{Name: "metrics", Value: "no data"}}
	}
	out.Sections = append(out.Sections, metrics)
	return out
}
