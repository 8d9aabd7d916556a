package ingest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/metrics/metricstest"
)

// TestRequestMetrics: one valid EMF line per request: accepted, or rejected by reason.
func TestRequestMetrics(t *testing.T) {
	f := newFixture(t, "info")
	var out bytes.Buffer
	f.h.Metrics = &metrics.Writer{W: &out, Namespace: "peerbridge/test", Detailed: true}
	f.do(t, request(goodToken, body(sampleText)))
	f.do(t, request("wrong-token-0123456789", body(sampleText)))
	lines, err := metricstest.Lines(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0][metrics.WebhooksAccepted] != 1 || lines[1][metrics.WebhooksRejected] != 1 {
		t.Fatalf("lines %v\n%s", lines, out.String())
	}
	if !strings.Contains(out.String(), `"Reason":"unauthorized"`) {
		t.Errorf("rejection without its reason:\n%s", out.String())
	}
}
