// Package metricstest checks embedded-metric-format lines against the format's
// specification, for the tests of the functions that write them.
package metricstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// units are the units the EMF specification allows (CloudWatch's StandardUnit).
var units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// CheckEMF checks one log line against the EMF specification: a JSON object under 1 MB
// whose _aws member has an integer Timestamp and CloudWatchMetrics directives, each with a
// Namespace (1-255 characters), Dimensions (arrays of at most 30 names, each naming a
// string member of the root) and Metrics (at most 100, each naming a numeric member,
// with a valid Unit). It returns the metric values by name.
func CheckEMF(line []byte) (map[string]float64, error) {
	if len(line) > 1<<20 {
		return nil, fmt.Errorf("line of %d bytes, above 1 MB", len(line))
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  *string
			Dimensions *[][]string
			Metrics    []struct {
				Name *string
				Unit string
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(root["_aws"]))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil {
		return nil, fmt.Errorf("_aws.Timestamp missing")
	}
	if _, err := meta.Timestamp.Int64(); err != nil {
		return nil, fmt.Errorf("_aws.Timestamp %s is not an integer", *meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics empty")
	}
	values := map[string]float64{}
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == nil || len(*d.Namespace) == 0 || len(*d.Namespace) > 255 {
			return nil, fmt.Errorf("namespace %v", d.Namespace)
		}
		if d.Dimensions == nil {
			return nil, fmt.Errorf("a directive without Dimensions")
		}
		for _, set := range *d.Dimensions {
			if len(set) > 30 {
				return nil, fmt.Errorf("dimension set of %d", len(set))
			}
			for _, name := range set {
				var v string
				if err := json.Unmarshal(root[name], &v); err != nil || v == "" {
					return nil, fmt.Errorf("dimension %s: not a non-empty string member (%s)", name, root[name])
				}
			}
		}
		if len(d.Metrics) == 0 || len(d.Metrics) > 100 {
			return nil, fmt.Errorf("%d metrics", len(d.Metrics))
		}
		for _, m := range d.Metrics {
			if m.Name == nil || len(*m.Name) == 0 || len(*m.Name) > 255 {
				return nil, fmt.Errorf("metric name %v", m.Name)
			}
			if m.Unit != "" && !slices.Contains(units, m.Unit) {
				return nil, fmt.Errorf("metric %s: unit %q", *m.Name, m.Unit)
			}
			var v float64
			if err := json.Unmarshal(root[*m.Name], &v); err != nil {
				return nil, fmt.Errorf("metric %s: not a number (%s)", *m.Name, root[*m.Name])
			}
			values[*m.Name] = v
		}
	}
	return values, nil
}

// Lines checks every line of out that is an EMF line (has an "_aws" member) and returns
// each one's values; other lines (logs) are skipped.
func Lines(out string) ([]map[string]float64, error) {
	var all []map[string]float64
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		v, err := CheckEMF([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%w: %s", err, line)
		}
		all = append(all, v)
	}
	return all, nil
}
