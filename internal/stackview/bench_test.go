package stackview

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// benchEvent is a sample Role Updated event as a rule delivers it to the tail's queue.
func benchEvent(b *testing.B) string {
	text, _ := webhooksamples.Get("role-updated")
	ev := peerdom.NewEvent("", peerdom.NewDelivery("", time.Now().UTC(), text, peerdom.Sender{}))
	detail, err := ev.Detail.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"version": "0", "id": "e1", "detail-type": ev.DetailType, "source": ev.Source,
		"account": "123456789012", "time": ev.Time, "region": "us-east-1", "resources": []string{}, "detail": json.RawMessage(detail)})
	return string(body)
}

// The tail's work per event: decode it, match the bus's rules (the template's three
// action rules and chat), publish its records. Baseline: json.Unmarshal of the event
// into a map, the least any reader of it does.
func BenchmarkTailEvent(b *testing.B) {
	body := benchEvent(b)
	var r router
	for i, p := range []string{
		`{"source":["peerdom"],"detail-type":["Role Created","Role Updated","Role Deleted","Group Created","Group Updated","Group Deleted","Peer Created","Peer Updated","Peer Deleted"]}`,
		`{"source":["peerdom"],"detail-type":["Peer Created"]}`,
		`{"source":["peerdom"],"detail-type":["Role Created"]}`,
		`{"source":["peerdom"],"detail-type":[{"anything-but":["Role Snapshot","Group Snapshot","Peer Snapshot"]}]}`,
	} {
		r.routes = append(r.routes, route{name: string(rune('a' + i)), pattern: p, targets: []string{"fn"}, compiled: eventpattern.MustCompile(p)})
	}
	b.Run("baseline-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-match-publish", func(b *testing.B) {
		s := observe.New(observe.Options{})
		b.ReportAllocs()
		for b.Loop() {
			e := decodeEvent(body)
			for _, rec := range e.records(r.match([]byte(body))) {
				s.Publish(rec)
			}
		}
	})
}
