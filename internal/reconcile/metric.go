package reconcile

import (
	"encoding/json"
	"time"
)

// Metric names, in namespace MetricNamespace: what template.yaml's drift alarm watches.
const (
	MetricNamespace   = "peerbridge"
	MetricDifferences = "ReconcileDifferences" // differences found by one run, written only when some were
	MetricDimension   = "FunctionName"
)

// MetricLine is the run's metrics as a CloudWatch embedded-metric-format log line: the
// cheapest metric, one stdout line, no PutMetricData call and no permission. Only a run
// that found differences writes one: a custom metric is billed for the hours it receives
// data, and a healthy organization's runs find none (the heartbeat alarm watches the
// function's own Lambda Errors instead). A skipped run (another held the lease) has
// looked at nothing.
func MetricLine(rep Report, function string, at time.Time) ([]byte, bool) {
	if rep.Skipped || rep.Differences == 0 {
		return nil, false
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": at.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{MetricDimension}},
				"Metrics":    []metric{{MetricDifferences, "Count"}},
			}},
		},
		MetricDimension:   function,
		MetricDifferences: rep.Differences,
	}
	b, err := json.Marshal(line)
	return b, err == nil
}
