package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkParse-2   	   52284	     23263 ns/op	 6416 B/op	      45 allocs/op
BenchmarkParse-2   	   52284	     20000 ns/op	 6416 B/op	      45 allocs/op
BenchmarkBaselineJSONDecode-2   	   30643	     39890 ns/op
BenchmarkBaselineGoldmark-2     	   10000	    165231 ns/op
BenchmarkServe-2   	    8000	    118174 ns/op	         0.7680 p50-ms	         3.522 p99-ms
BenchmarkServe-2   	    8000	    128174 ns/op	         0.9 p50-ms	         5.522 p99-ms
BenchmarkBare-2    	    8000	     57146 ns/op	         0.3850 p50-ms	         2.373 p99-ms
PASS
`

func TestRatiosUseFastestRun(t *testing.T) {
	var out bytes.Buffer
	err := run(strings.NewReader(sample), &out, []string{"Parse/BaselineJSONDecode<=2", "BaselineGoldmark/Parse>=8"})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0.50x") || !strings.Contains(out.String(), "8.26x") {
		t.Errorf("ratios not from the fastest runs:\n%s", out.String())
	}
}

func TestMissedTargetFails(t *testing.T) {
	var out bytes.Buffer
	err := run(strings.NewReader(sample), &out, []string{"BaselineGoldmark/Parse>=10"})
	if err == nil || !strings.Contains(out.String(), "MISSED") {
		t.Errorf("missed target passed: %v\n%s", err, out.String())
	}
	if err := run(strings.NewReader(sample), &out, []string{"Nope/Parse>=1"}); err == nil {
		t.Error("unknown benchmark accepted")
	}
	if err := run(strings.NewReader(sample), &out, []string{"Parse<2"}); err == nil {
		t.Error("malformed target accepted")
	}
}

func TestMetricDifference(t *testing.T) {
	var out bytes.Buffer
	if err := run(strings.NewReader(sample), &out, []string{"Serve-Bare:p50-ms", "Serve-Bare:p99-ms"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "+0.383 p50-ms") || !strings.Contains(out.String(), "+1.149 p99-ms") {
		t.Errorf("differences not from the fastest runs:\n%s", out.String())
	}
	if err := run(strings.NewReader(sample), &out, []string{"Serve-Bare:nope"}); err == nil {
		t.Error("unknown metric accepted")
	}
}
