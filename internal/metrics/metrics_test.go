package metrics

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/metrics/metricstest"
)

func TestCountWritesValidEMF(t *testing.T) {
	var buf bytes.Buffer
	w := &Writer{W: &buf, Namespace: "peerbridge/test", Detailed: true}
	w.Now = func() time.Time { return time.UnixMilli(1796000000123) }
	if err := w.Count(map[string]int{EventsPublished: 3, Unrecognized: 1, ActionsDone: 0}, "DetailType", "Role Created"); err != nil {
		t.Fatal(err)
	}
	if err := w.Count(map[string]int{WebhooksRejected: 1}, "Reason", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Count(map[string]int{WebhooksAccepted: 0}, "", ""); err != nil { // nothing to count: no line
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	got, err := metricstest.CheckEMF([]byte(lines[0]))
	if err != nil {
		t.Fatalf("%v\n%s", err, lines[0])
	}
	if len(got) != 2 || got[EventsPublished] != 3 || got[Unrecognized] != 1 {
		t.Errorf("values %v", got)
	}
	want := `{"DetailType":"Role Created","EventsPublished":3,"UnrecognizedMessages":1,"_aws":{"CloudWatchMetrics":[{"Namespace":"peerbridge/test","Dimensions":[[],["DetailType"]],"Metrics":[{"Name":"EventsPublished","Unit":"Count"},{"Name":"UnrecognizedMessages","Unit":"Count"}]}],"Timestamp":1796000000123}}`
	if lines[0] != want {
		t.Errorf("line\n%s\nwant\n%s", lines[0], want)
	}
	if _, err := metricstest.CheckEMF([]byte(lines[1])); err != nil || !strings.Contains(lines[1], `"Reason":"unknown"`) {
		t.Errorf("empty dimension value: %v %s", err, lines[1])
	}
}

// TestBasicWritesBasicNamesUndimensioned: at the basic level a line holds only the
// Basic names (failures), with no dimension; counts of work done (events published,
// actions done, unrecognized messages) alone write no line, so a healthy stack feeds no
// custom metric.
func TestBasicWritesBasicNamesUndimensioned(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf, "peerbridge/test")
	w.Now = func() time.Time { return time.UnixMilli(1796000000123) }
	if err := w.Count(map[string]int{EventsPublished: 3, Unrecognized: 1, DeliveriesFailed: 2}, "DetailType", "Role Created"); err != nil {
		t.Fatal(err)
	}
	for _, healthy := range []map[string]int{{WebhooksAccepted: 1}, {EventsPublished: 1, Unrecognized: 1}, {ActionsDone: 1}, {ActionsIgnored: 1}} {
		if err := w.Count(healthy, "Action", "enrich"); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"DeliveriesFailed":2,"_aws":{"CloudWatchMetrics":[{"Namespace":"peerbridge/test","Dimensions":[[]],"Metrics":[{"Name":"DeliveriesFailed","Unit":"Count"}]}],"Timestamp":1796000000123}}` + "\n"
	if buf.String() != want {
		t.Errorf("basic wrote\n%s\nwant\n%s", buf.String(), want)
	}
	for _, name := range Basic {
		buf.Reset()
		if err := w.Count(map[string]int{name: 1}, "Reason", "x"); err != nil || !strings.Contains(buf.String(), `{"Name":"`+name+`"`) {
			t.Errorf("%s at basic: %v %q", name, err, buf.String())
		}
	}
}

func TestFromEnvLevel(t *testing.T) {
	env := func(level string) func(string) string {
		return func(k string) string {
			return map[string]string{"METRICS_NAMESPACE": "ns", "METRICS_LEVEL": level}[k]
		}
	}
	for level, detailed := range map[string]bool{"": false, "basic": false, "detailed": true, "Detailed": false} {
		if w := FromEnv(&bytes.Buffer{}, env(level)); w.Namespace != "ns" || w.IsDetailed() != detailed {
			t.Errorf("METRICS_LEVEL=%q: %+v", level, w)
		}
	}
}

func TestCheckEMFRejects(t *testing.T) {
	for _, bad := range []string{
		`{"a":1}`,
		`{"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"a"}]}]},"a":1}`,                  // no Timestamp
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["D"]],"Metrics":[{"Name":"a"}]}]},"a":1}`, // D missing
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"a"}]}]},"a":"1"}`,  // not a number
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"a","Unit":"Things"}]}]},"a":1}`,
	} {
		if _, err := metricstest.CheckEMF([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestNoNamespaceWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	var nilWriter *Writer
	if err := nilWriter.Count(map[string]int{ActionsDone: 1}, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := New(&buf, "").Count(map[string]int{ActionsDone: 1}, "Action", "enrich"); err != nil || buf.Len() != 0 {
		t.Errorf("wrote %q, %v", buf.String(), err)
	}
}
