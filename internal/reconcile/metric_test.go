package reconcile_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/metrics/metricstest"
	"github.com/peerbridge/peerbridge/internal/reconcile"
)

// TestMetricLine: the EMF line names the metric the alarm watches, with the count, and
// meets the format's specification as internal/metrics' lines do.
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
	if _, ok := reconcile.MetricLine(reconcile.Report{Skipped: true}, "f", at); ok {
		t.Error("a skipped run reported a count")
	}
}
