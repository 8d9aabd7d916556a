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
