// Command benchratio reads `go test -bench` output on stdin, passes it through, and
// prints the ratio of two benchmarks' ns/op for each target given as an argument:
//
//	go test -bench . -count 5 ./pkg/peerdom | go run ./internal/benchratio 'Parse/BaselineJSONDecode<=2' 'BaselineGoldmark/Parse>=10'
//
// An argument of the form 'A-B:UNIT' (e.g. 'ServeWebhooks-BaselineBareHandler:p50-ms')
// prints the difference of a reported metric between two benchmarks, from their
// fastest runs, with no target.
//
// Each benchmark's fastest run is used: on a shared machine other work only ever slows
// a run down, so the minimum is the steadiest estimate. It exits 1 when a target is missed.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
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

func run(in io.Reader, out io.Writer, targets []string) error {
	best := map[string]float64{}
	bestMetrics := map[string]map[string]float64{} // the metrics of each benchmark's fastest run
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		if m := benchLine.FindStringSubmatch(line); m != nil {
			ns, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				continue
			}
			if old, ok := best[m[1]]; !ok || ns < old {
				best[m[1]] = ns
				bestMetrics[m[1]] = map[string]float64{}
				for _, mm := range metric.FindAllStringSubmatch(m[3], -1) {
					if v, err := strconv.ParseFloat(mm[1], 64); err == nil {
						bestMetrics[m[1]][mm[2]] = v
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	missed := 0
	fmt.Fprintln(out, "\nratios (fastest run of each):")
	for _, t := range targets {
		if d := diffArg.FindStringSubmatch(strings.TrimSpace(t)); d != nil {
			a, okA := bestMetrics[d[1]][d[3]]
			b, okB := bestMetrics[d[2]][d[3]]
			if !okA || !okB {
				return fmt.Errorf("difference %q: metric %q of %q or %q not in the input", t, d[3], d[1], d[2])
			}
			fmt.Fprintf(out, "  %-45s %+8.3f %s\n", d[1]+" - "+d[2], a-b, d[3])
			continue
		}
		m := target.FindStringSubmatch(strings.TrimSpace(t))
		if m == nil {
			return fmt.Errorf("target %q is not NUM/DEN<=X or NUM/DEN>=X", t)
		}
		num, okN := best[m[1]]
		den, okD := best[m[2]]
		if !okN || !okD || den == 0 {
			return fmt.Errorf("target %q: benchmark %q or %q not in the input", t, m[1], m[2])
		}
		limit, _ := strconv.ParseFloat(m[4], 64)
		ratio := num / den
		ok := (m[3] == "<=" && ratio <= limit) || (m[3] == ">=" && ratio >= limit)
		verdict := "ok"
		if !ok {
			verdict = "MISSED"
			missed++
		}
		fmt.Fprintf(out, "  %-45s %8.2fx  (target %s%s)  %s\n", m[1]+" / "+m[2], ratio, m[3], m[4], verdict)
	}
	if missed > 0 {
		return fmt.Errorf("%d target(s) missed", missed)
	}
	return nil
}
