package console

import (
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/operate"
)

func TestOperateStatus(t *testing.T) {
	age := 20 * time.Minute
	st := OperateStatus(operate.Status{
		Stack: "peerbridge", StackStatus: "UPDATE_COMPLETE", WebhookURL: "https://x/webhooks/<token>",
		Queue:    operate.QueueStatus{Name: "webhooks", Visible: 4, InFlight: 1, OldestAge: &age},
		DLQs:     []operate.QueueStatus{{Name: "webhooks DLQ", Visible: 2}, {Name: "events DLQ"}},
		Alarms:   []operate.Alarm{{Name: "WebhookDLQAlarm", State: "ALARM", Reason: "2 messages"}, {Name: "ReconcileHeartbeatAlarm", State: "OK"}},
		LastHour: map[string]float64{"WebhooksAccepted": 12, "EventsPublished": 11},
	})
	want := map[string]StatusRow{
		"webhooks":                {Name: "webhooks", Value: "4 waiting, 1 in flight, oldest 20m0s", Bad: true},
		"webhooks DLQ":            {Name: "webhooks DLQ", Value: "2", Bad: true},
		"events DLQ":              {Name: "events DLQ", Value: "0"},
		"WebhookDLQAlarm":         {Name: "WebhookDLQAlarm", Value: "ALARM: 2 messages", Bad: true},
		"ReconcileHeartbeatAlarm": {Name: "ReconcileHeartbeatAlarm", Value: "OK"},
		"EventsPublished":         {Name: "EventsPublished", Value: "11"},
		"WebhooksAccepted":        {Name: "WebhooksAccepted", Value: "12"},
	}
	got := map[string]StatusRow{}
	for _, sec := range st.Sections {
		for _, r := range sec.Rows {
			got[r.Name] = r
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	if len(st.Sections) != 4 || st.Sections[3].Title != "The last hour" {
		t.Errorf("sections %+v", st.Sections)
	}
}
