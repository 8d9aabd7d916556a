package reconcile

import (
	"encoding/json"
	"time"
)

// Metric names, in namespace MetricNamespace: what template.yaml's drift alarm watches.
const (
	MetricNamespace   = "peerbridge"
	MetricDifferences = "ReconcileDifferences" // differences found by one run (0 on a baseline)
	MetricDimension   = "FunctionName"
)

// MetricLine is the run's metrics as a CloudWatch embedded-metric-format log line: the
// cheapest metric, one stdout line, no PutMetricData call and no permission. A skipped
// run (another held the lease) reports nothing; it has looked at nothing.
func MetricLine(rep Report, function string, at time.Time) ([]byte, bool) {
	if rep.Skipped {
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
