package main

import (
	"bytes"
	"os"
	"path/filepath"
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
BenchmarkColdStart/RoleDefaults-2   	       5	  63066346 ns/op	         9.754 binary-MB	         2.0 hello-init-ms	         5.0 init-ms
PASS
BenchmarkParse-2   	   52284	     20000 ns/op	 6416 B/op	      45 allocs/op
BenchmarkBaselineJSONDecode-2   	   30643	     80000 ns/op
BenchmarkBaselineGoldmark-2     	   10000	    200000 ns/op
BenchmarkServe-2   	    8000	    128174 ns/op	         1.6 p50-ms	         9.5 p99-ms
BenchmarkBare-2    	    8000	     57146 ns/op	         0.8 p50-ms	         2.5 p99-ms
BenchmarkColdStart/RoleDefaults-2   	       5	  63066346 ns/op	         9.754 binary-MB	         4.0 hello-init-ms	         4.4 init-ms
PASS
BenchmarkParse-2   	   52284	     15000 ns/op	 6416 B/op	      45 allocs/op
BenchmarkBaselineJSONDecode-2   	   30643	     30000 ns/op
BenchmarkBaselineGoldmark-2     	   10000	     90000 ns/op
BenchmarkServe-2   	    8000	    128174 ns/op	         0.6 p50-ms	         2.5 p99-ms
BenchmarkBare-2    	    8000	     57146 ns/op	         0.5 p50-ms	         2.0 p99-ms
BenchmarkColdStart/RoleDefaults-2   	       5	  63066346 ns/op	         9.754 binary-MB	         3.0 hello-init-ms	         3.6 init-ms
PASS
`

func judgeSample(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(strings.NewReader(sample), &out, args, "")
	return out.String(), err
}

// rowOf is the table line that starts with figure.
func rowOf(t *testing.T, out, figure string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, figure+" ") {
			return line
		}
	}
	t.Fatalf("no row %q in:\n%s", figure, out)
	return ""
}

func wantFields(t *testing.T, line string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("row lacks %q: %s", w, line)
		}
	}
}

func TestRatiosPairRunsWithinRounds(t *testing.T) {
	out, err := judgeSample(t, "Parse/BaselineJSONDecode<=2", "BaselineGoldmark/Parse>=8")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	// Parse/JSON: rounds 0.25, 0.25, 0.5 → median 0.25; goldmark/Parse: 10, 10, 6 → 10.
	wantFields(t, rowOf(t, out, "Parse / BaselineJSONDecode (ns/op)"), "0.25x", "0.25x to 0.50x (3)", "<= 2", "met")
	wantFields(t, rowOf(t, out, "BaselineGoldmark / Parse (ns/op)"), "10.00x", "6.00x to 10.00x (3)", ">= 8", "met")
	if !strings.HasSuffix(out, "targets: 2 met, 0 missed or not measured\n") {
		t.Errorf("output does not end with the tally:\n%s", out)
	}
}

func TestMissedTargetFails(t *testing.T) {
	out, err := judgeSample(t, "BaselineGoldmark/Parse>=11")
	if err == nil || !strings.Contains(rowOf(t, out, "BaselineGoldmark / Parse (ns/op)"), "MISSED") {
		t.Errorf("missed target passed: %v\n%s", err, out)
	}
	if _, err := judgeSample(t, "Parse<2"); err == nil {
		t.Error("malformed target accepted")
	}
}

func TestMissingBenchmarkIsNotMeasuredAndTheOthersStillShow(t *testing.T) {
	out, err := judgeSample(t, "Nope/Parse>=1", "ServeSoak:rss-MB-300k/rss-MB-10k<=1.5", "Parse/BaselineJSONDecode<=2", "Serve:nope")
	if err == nil {
		t.Fatalf("a missing benchmark passed:\n%s", out)
	}
	wantFields(t, rowOf(t, out, "Nope / Parse (ns/op)"), "NOT MEASURED")
	wantFields(t, rowOf(t, out, "ServeSoak rss-MB-300k / rss-MB-10k"), "NOT MEASURED", "<= 1.5")
	wantFields(t, rowOf(t, out, "Serve nope"), "NOT MEASURED")
	wantFields(t, rowOf(t, out, "Parse / BaselineJSONDecode (ns/op)"), "met")
	if !strings.Contains(out, "targets: 1 met, 3 missed or not measured") {
		t.Errorf("tally:\n%s", out)
	}
}

func TestMetricRatioWithinOneRun(t *testing.T) {
	// init/hello per round: 2.5, 1.1, 1.2 → median 1.2.
	out, err := judgeSample(t, "ColdStart/RoleDefaults:init-ms/hello-init-ms<=1.2")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	wantFields(t, rowOf(t, out, "ColdStart/RoleDefaults init-ms / hello-init-ms"), "1.20x", "1.10x to 2.50x (3)", "met")
	if _, err := judgeSample(t, "ColdStart/RoleDefaults:init-ms/hello-init-ms<=1.1"); err == nil {
		t.Error("1.2x passed a 1.1 target")
	}
}

func TestMetricDifferenceAndValue(t *testing.T) {
	out, err := judgeSample(t, "Serve-Bare:p50-ms", "Serve-Bare:p99-ms", "ColdStart/RoleDefaults:binary-MB")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	// p50: rounds +0.4, +0.8, +0.1 → median +0.4; p99: +1.0, +7.0, +0.5 → +1.0.
	wantFields(t, rowOf(t, out, "Serve - Bare p50-ms"), "+0.400 p50-ms", "+0.100 to +0.800 (3)")
	wantFields(t, rowOf(t, out, "Serve - Bare p99-ms"), "+1.000 p99-ms")
	wantFields(t, rowOf(t, out, "ColdStart/RoleDefaults binary-MB"), "9.75 binary-MB")
	if _, err := judgeSample(t, "Serve-Bare:nope"); err == nil {
		t.Error("unknown metric accepted")
	}
}

func TestRoundsUpToTheShorterSeries(t *testing.T) {
	in := "BenchmarkA-2 1 10 ns/op\nBenchmarkB-2 1 5 ns/op\nBenchmarkA-2 1 30 ns/op\n"
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out, []string{"A/B<=3"}, ""); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	wantFields(t, rowOf(t, out.String(), "A / B (ns/op)"), "2.00x", "(1)")
}

func TestTableFileGathersGroups(t *testing.T) {
	file := filepath.Join(t.TempDir(), "table")
	var out bytes.Buffer
	if err := run(strings.NewReader(sample), &out, []string{"Parse/BaselineJSONDecode<=2"}, file); err != nil {
		t.Fatal(err)
	}
	if err := run(strings.NewReader(sample), &out, []string{"BaselineGoldmark/Parse>=11"}, file); err == nil {
		t.Fatal("missed target passed")
	}
	out.Reset()
	if err := showTable(file, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "targets: 1 met, 1 missed or not measured\n") {
		t.Errorf("the table does not end with the tally:\n%s", out.String())
	}
	wantFields(t, rowOf(t, out.String(), "Parse / BaselineJSONDecode (ns/op)"), "met")
	wantFields(t, rowOf(t, out.String(), "BaselineGoldmark / Parse (ns/op)"), "MISSED")
	if err := os.WriteFile(file, []byte("only\ttwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := showTable(file, &out); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("malformed file: %v", err)
	}
}

func TestUnitWithASlashIsAMetricNotARatio(t *testing.T) {
	in := "BenchmarkServeWebhooks-2 5000 100 ns/op 9040 webhooks/s 2 a 4 b\n"
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out, []string{"ServeWebhooks:webhooks/s", "ServeWebhooks:a/b", "ServeWebhooks:a/b<=1"}, ""); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	wantFields(t, rowOf(t, out.String(), "ServeWebhooks webhooks/s"), "9040 webhooks/s")
	wantFields(t, rowOf(t, out.String(), "ServeWebhooks a / b"), "0.50x")
}

// TestMetricWithAnAbsoluteTarget: A:U<=X judges the median of metric U over the rounds
// (Serve's p50-ms: 0.8, 1.6, 0.6, median 0.8).
func TestMetricWithAnAbsoluteTarget(t *testing.T) {
	out, err := judgeSample(t, "Serve:p50-ms<=1")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	wantFields(t, rowOf(t, out, "Serve p50-ms"), "<= 1", "met")
	out, err = judgeSample(t, "Serve:p50-ms<=0.7")
	if err == nil {
		t.Fatalf("median 0.8 against <= 0.7 passed:\n%s", out)
	}
	wantFields(t, rowOf(t, out, "Serve p50-ms"), "MISSED")
}
