package worker

import (
	"bytes"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/metrics/metricstest"
)

// TestBatchMetrics: one EMF line per detail-type published (the unrecognized counted as
// such too) and one for the failed, each valid EMF.
func TestBatchMetrics(t *testing.T) {
	b := membus.New()
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"id":"d3"`) {
			return "InternalFailure", "injected"
		}
		return "", ""
	}
	var out bytes.Buffer
	h := &Handler{Bus: b, Metrics: &metrics.Writer{W: &out, Namespace: "peerbridge/test", Detailed: true}}
	handle(t, h, record("m1", envelope(t, "d1", roleText)), record("m2", envelope(t, "d2", roleText)),
		record("m3", envelope(t, "d3", roleText)), record("m4", envelope(t, "d4", sampleText)), record("m5", "{"))
	lines, err := metricstest.Lines(out.String())
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || len(text) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	// Sorted by detail-type: Role Created, then Unrecognized Message, then the rest.
	if lines[0][metrics.EventsPublished] != 2 || !strings.Contains(text[0], `"DetailType":"Role Created"`) {
		t.Errorf("line 1: %s", text[0])
	}
	if lines[1][metrics.EventsPublished] != 1 || lines[1][metrics.Unrecognized] != 1 || !strings.Contains(text[1], `"DetailType":"Unrecognized Message"`) {
		t.Errorf("line 2: %s", text[1])
	}
	if lines[2][metrics.DeliveriesFailed] != 2 || len(lines[2]) != 1 {
		t.Errorf("line 3 (the failed: d3's put and m5's envelope): %s", text[2])
	}
}

// TestBatchMetricsBasic: at the basic level, one undimensioned line of the batch's failure
// counts (metrics.Basic: the published and unrecognized counts are detailed only), and no
// line for a batch without failures.
func TestBatchMetricsBasic(t *testing.T) {
	b := membus.New()
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"id":"d3"`) {
			return "InternalFailure", "injected"
		}
		return "", ""
	}
	var out bytes.Buffer
	h := &Handler{Bus: b, Metrics: metrics.New(&out, "peerbridge/test")}
	handle(t, h, record("m1", envelope(t, "d1", roleText)), record("m2", envelope(t, "d2", roleText)),
		record("m3", envelope(t, "d3", roleText)), record("m4", envelope(t, "d4", sampleText)), record("m5", "{"))
	lines, err := metricstest.Lines(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0][metrics.DeliveriesFailed] != 2 || len(lines[0]) != 1 {
		t.Fatalf("lines %v:\n%s", lines, out.String())
	}
	if strings.Contains(out.String(), "DetailType") {
		t.Errorf("basic line has a dimension:\n%s", out.String())
	}
	out.Reset()
	handle(t, h, record("m6", envelope(t, "d6", roleText)), record("m7", envelope(t, "d7", sampleText)))
	if out.Len() != 0 {
		t.Errorf("a batch without failures wrote a metric line at basic:\n%s", out.String())
	}
}
