package reconcile_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/metrics/metricstest"
	"github.com/peerbridge/peerbridge/internal/reconcile"
)

// TestMetricLine: the EMF line names the metric the drift alarm watches, with the count,
// and meets the format's specification as internal/metrics' lines do; a run that found
// no difference writes none.
func TestMetricLine(t *testing.T) {
	at := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	b, ok := reconcile.MetricLine(reconcile.Report{Differences: 7}, "stack-reconcile", at)
	if !ok {
		t.Fatal("no line")
	}
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		FunctionName         string
		ReconcileDifferences int
	}
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatal(err)
	}
	if values, err := metricstest.CheckEMF(b); err != nil || values["ReconcileDifferences"] != 7 {
		t.Errorf("not a valid EMF line (%v), values %v: %s", err, values, b)
	}
	m := line.AWS.CloudWatchMetrics
	if line.AWS.Timestamp != at.UnixMilli() || len(m) != 1 || m[0].Namespace != "peerbridge" || m[0].Metrics[0].Name != "ReconcileDifferences" ||
		m[0].Dimensions[0][0] != "FunctionName" || line.FunctionName != "stack-reconcile" || line.ReconcileDifferences != 7 {
		t.Errorf("line %s", b)
	}
	if _, ok := reconcile.MetricLine(reconcile.Report{Skipped: true, Differences: 3}, "f", at); ok {
		t.Error("a skipped run reported a count")
	}
	for _, rep := range []reconcile.Report{{}, {Baseline: true, Recorded: 1600}, {Listed: map[string]int{"role": 3}}} {
		if b, ok := reconcile.MetricLine(rep, "f", at); ok {
			t.Errorf("a run without differences (%+v) wrote %s: a custom metric billed every hour", rep, b)
		}
	}
}
