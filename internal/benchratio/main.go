// Command benchratio reads `go test -bench` output on stdin, passes it through, and
// prints the ratio of two benchmarks' ns/op for each target given as an argument:
//
//	for i in 1 2 3 4 5; do go test -bench . -count 1 ./pkg/peerdom; done | go run ./internal/benchratio 'Parse/BaselineJSONDecode<=2' 'BaselineGoldmark/Parse>=10'
//
// An argument of the form 'A-B:UNIT' (e.g. 'ServeWebhooks-BaselineBareHandler:p50-ms')
// prints the difference of a reported metric between two benchmarks, with no target.
//
// The input is read as rounds: the k-th run of each benchmark belongs to round k (the
// Makefile runs each benchmark once per round, the rounds one after another). A ratio
// is taken within each round, between runs made a few seconds apart, and the median over
// the rounds is judged against the target; the rounds' range is printed beside it. On a
// shared VM the machine's speed drifts both ways by tens of percent within a minute, so
// comparing two benchmarks' fastest runs, made at different moments, lets one lucky run
// decide; pairing within a round and taking the median does not. It exits 1 when a
// target is missed.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(.*)$`)
var metric = regexp.MustCompile(`([0-9.]+) (\S+)`)
var diffArg = regexp.MustCompile(`^([^-]+)-([^:]+):(\S+)$`)
var target = regexp.MustCompile(`^([^/]+)/([^<>=]+)(<=|>=)([0-9.]+)$`)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// benchRun is one run of a benchmark: its ns/op and its other reported metrics.
type benchRun map[string]float64

func run(in io.Reader, out io.Writer, targets []string) error {
	runs := map[string][]benchRun{} // each benchmark's runs in input order: run k is round k
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		r := benchRun{"ns/op": ns}
		for _, mm := range metric.FindAllStringSubmatch(m[3], -1) {
			if v, err := strconv.ParseFloat(mm[1], 64); err == nil {
				r[mm[2]] = v
			}
		}
		runs[m[1]] = append(runs[m[1]], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	missed := 0
	fmt.Fprintln(out, "\nratios (median over rounds, each round's runs compared with each other):")
	for _, t := range targets {
		if d := diffArg.FindStringSubmatch(strings.TrimSpace(t)); d != nil {
			diffs, err := perRound(runs, d[1], d[2], d[3], func(a, b float64) float64 { return a - b })
			if err != nil {
				return fmt.Errorf("difference %q: %w", t, err)
			}
			fmt.Fprintf(out, "  %-45s %+8.3f %s  (rounds %+.3f to %+.3f)\n", d[1]+" - "+d[2], median(diffs), d[3], diffs[0], diffs[len(diffs)-1])
			continue
		}
		m := target.FindStringSubmatch(strings.TrimSpace(t))
		if m == nil {
			return fmt.Errorf("target %q is not NUM/DEN<=X or NUM/DEN>=X", t)
		}
		ratios, err := perRound(runs, m[1], m[2], "ns/op", func(a, b float64) float64 { return a / b })
		if err != nil {
			return fmt.Errorf("target %q: %w", t, err)
		}
		limit, _ := strconv.ParseFloat(m[4], 64)
		ratio := median(ratios)
		ok := (m[3] == "<=" && ratio <= limit) || (m[3] == ">=" && ratio >= limit)
		verdict := "ok"
		if !ok {
			verdict = "MISSED"
			missed++
		}
		fmt.Fprintf(out, "  %-45s %8.2fx  (target %s%s; %d rounds %.2f–%.2fx)  %s\n",
			m[1]+" / "+m[2], ratio, m[3], m[4], len(ratios), ratios[0], ratios[len(ratios)-1], verdict)
	}
	if missed > 0 {
		return fmt.Errorf("%d target(s) missed", missed)
	}
	return nil
}

// perRound applies f to benchmark a's and b's values of the metric in each round they
// both ran, and returns the results sorted.
func perRound(runs map[string][]benchRun, a, b, unit string, f func(a, b float64) float64) ([]float64, error) {
	ra, rb := runs[a], runs[b]
	n := min(len(ra), len(rb))
	if n == 0 {
		return nil, fmt.Errorf("benchmark %q or %q not in the input", a, b)
	}
	var out []float64
	for k := range n {
		va, okA := ra[k][unit]
		vb, okB := rb[k][unit]
		if !okA || !okB {
			return nil, fmt.Errorf("metric %q of %q or %q not in the input", unit, a, b)
		}
		if unit == "ns/op" && vb == 0 {
			return nil, fmt.Errorf("benchmark %q ran in 0 ns/op", b)
		}
		out = append(out, f(va, vb))
	}
	slices.Sort(out)
	return out, nil
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
