package main

import (
	"bytes"
	"strings"
	"testing"
)

// sample has three rounds. Round 2 ran on a slow machine (everything twice as slow);
// in round 3 the machine sped up between Parse and goldmark. Each benchmark's fastest
// run would give goldmark/Parse 90000/10000 = 9x, from runs of rounds 3 and 1; the
// rounds give 10x, 10x and 6x, and their median 10x.
const sample = `goos: linux
BenchmarkParse-2   	   52284	     10000 ns/op	 6416 B/op	      45 allocs/op
BenchmarkBaselineJSONDecode-2   	   30643	     40000 ns/op
BenchmarkBaselineGoldmark-2     	   10000	    100000 ns/op
BenchmarkServe-2   	    8000	    118174 ns/op	         0.8 p50-ms	         3.5 p99-ms
BenchmarkBare-2    	    8000	     57146 ns/op	         0.4 p50-ms	         2.5 p99-ms
PASS
BenchmarkParse-2   	   52284	     20000 ns/op	 6416 B/op	      45 allocs/op
BenchmarkBaselineJSONDecode-2   	   30643	     80000 ns/op
BenchmarkBaselineGoldmark-2     	   10000	    200000 ns/op
BenchmarkServe-2   	    8000	    128174 ns/op	         1.6 p50-ms	         9.5 p99-ms
BenchmarkBare-2    	    8000	     57146 ns/op	         0.8 p50-ms	         2.5 p99-ms
PASS
BenchmarkParse-2   	   52284	     15000 ns/op	 6416 B/op	      45 allocs/op
BenchmarkBaselineJSONDecode-2   	   30643	     30000 ns/op
BenchmarkBaselineGoldmark-2     	   10000	     90000 ns/op
BenchmarkServe-2   	    8000	    128174 ns/op	         0.6 p50-ms	         2.5 p99-ms
BenchmarkBare-2    	    8000	     57146 ns/op	         0.5 p50-ms	         2.0 p99-ms
PASS
`

func TestRatiosPairRunsWithinRounds(t *testing.T) {
	var out bytes.Buffer
	err := run(strings.NewReader(sample), &out, []string{"Parse/BaselineJSONDecode<=2", "BaselineGoldmark/Parse>=8"})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	// Parse/JSON: rounds 0.25, 0.25, 0.5 → median 0.25; goldmark/Parse: 10, 10, 6 → 10.
	for _, want := range []string{"0.25x", "3 rounds 0.25–0.50x", "10.00x", "3 rounds 6.00–10.00x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMissedTargetFails(t *testing.T) {
	var out bytes.Buffer
	err := run(strings.NewReader(sample), &out, []string{"BaselineGoldmark/Parse>=11"})
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
	// p50: rounds +0.4, +0.8, +0.1 → median +0.4; p99: +1.0, +7.0, +0.5 → +1.0.
	for _, want := range []string{"+0.400 p50-ms  (rounds +0.100 to +0.800)", "+1.000 p99-ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(strings.NewReader(sample), &out, []string{"Serve-Bare:nope"}); err == nil {
		t.Error("unknown metric accepted")
	}
}

func TestRoundsUpToTheShorterSeries(t *testing.T) {
	in := "BenchmarkA-2 1 10 ns/op\nBenchmarkB-2 1 5 ns/op\nBenchmarkA-2 1 30 ns/op\n"
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out, []string{"A/B<=3"}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "2.00x") || !strings.Contains(out.String(), "1 rounds") {
		t.Errorf("a benchmark's extra run should have no partner:\n%s", out.String())
	}
}
