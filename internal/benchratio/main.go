// Command benchratio reads `go test -bench` output on stdin, passes it through, and
// judges figures given as arguments, each measured against a baseline in the same run:
//
//	for i in 1 2 3 4 5; do go test -bench . -count 1 ./pkg/peerdom; done | go run ./internal/benchratio 'Parse/BaselineJSONDecode<=2' 'BaselineGoldmark/Parse>=10'
//
// The arguments:
//
//	A/B<=X              ns/op of benchmark A over ns/op of B, with a target (<= or >=)
//	A:U1/U2<=X          benchmark A's reported metric U1 over its metric U2 (a baseline
//	                    measured inside the same run, e.g. 'ColdStart/Ingest:init-ms/sdk-init-ms<=1.2',
//	                    or growth, e.g. 'ServeSoak:rss-MB-300k/rss-MB-10k<=1.5'); the target is optional
//	A-B:U               the difference of metric U between benchmarks A and B, no target
//	A:U[<=X]            benchmark A's metric U (a size, a memory figure, a latency; U may
//	                    hold a slash, e.g. webhooks/s, when A reports that metric), with
//	                    an optional target (an absolute bound, e.g. a latency in ms)
//
// The input is read as rounds: the k-th run of each benchmark belongs to round k (the
// Makefile runs each benchmark once per round, the rounds one after another). A figure
// is taken within each round, between runs made a few seconds apart, and the median over
// the rounds is judged against the target; the rounds' range is printed beside it. On a
// shared VM the machine's speed drifts both ways by tens of percent within a minute, so
// comparing two benchmarks' fastest runs, made at different moments, lets one lucky run
// decide; pairing within a round and taking the median does not.
//
// It ends with a table of the figures and exits 1 when a target is missed or a figure
// could not be measured (a benchmark or metric missing from the input: never a silent
// pass). With -table FILE it also appends the table's rows to FILE, and
// `benchratio -show FILE` prints the rows gathered there as one table, so `make bench`
// ends with every group's figures together.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(.*)$`)
var metric = regexp.MustCompile(`([0-9.]+) (\S+)`)
var ratioArg = regexp.MustCompile(`^([^/:<>=]+)/([^:<>=]+)(<=|>=)([0-9.]+)$`)
var metricRatioArg = regexp.MustCompile(`^([^:<>=]+):([^/:<>=]+)/([^/:<>=]+)(?:(<=|>=)([0-9.]+))?$`)
var metricArg = regexp.MustCompile(`^([^:<>=]+):([^:<>=]+)(?:(<=|>=)([0-9.]+))?$`)

func main() {
	table := flag.String("table", "", "append the figures' rows to this file")
	show := flag.String("show", "", "print the rows gathered in this file as one table and exit")
	flag.Parse()
	var err error
	if *show != "" {
		err = showTable(*show, os.Stdout)
	} else {
		err = run(os.Stdin, os.Stdout, flag.Args(), *table)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// benchRun is one run of a benchmark: its ns/op and its other reported metrics.
type benchRun map[string]float64

// row is one line of the table. verdict is "met", "MISSED", "NOT MEASURED" or "" (a
// figure without a target).
type row struct {
	figure, median, rounds, target, verdict string
}

func (r row) failed() bool { return r.verdict == "MISSED" || r.verdict == "NOT MEASURED" }

var errNotMeasured = errors.New("not measured")

func run(in io.Reader, out io.Writer, args []string, tableFile string) error {
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
	var rows []row
	for _, a := range args {
		r, err := judge(runs, strings.TrimSpace(a))
		if err != nil && !errors.Is(err, errNotMeasured) {
			return err
		}
		if err != nil {
			fmt.Fprintf(out, "benchratio: %s: %v\n", a, err)
		}
		rows = append(rows, r)
	}
	fmt.Fprintln(out)
	failed := printTable(out, rows)
	if tableFile != "" {
		if err := appendRows(tableFile, rows); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d target(s) missed or not measured", failed)
	}
	return nil
}

// hasMetric reports whether arg, "A:U", names a metric U that benchmark A reported (a unit
// may hold a slash, like webhooks/s: then it is not a ratio of two metrics).
func hasMetric(runs map[string][]benchRun, arg string) bool {
	name, unit, _ := strings.Cut(arg, ":")
	for _, r := range runs[name] {
		if _, ok := r[unit]; ok {
			return true
		}
	}
	return false
}

// judge computes one argument's figure. A malformed argument is an error; a figure whose
// benchmark or metric is missing from the input is a row marked NOT MEASURED, with an
// error wrapping errNotMeasured.
func judge(runs map[string][]benchRun, arg string) (row, error) {
	var values []float64
	var err error
	var r row
	var op, limit, unit string // unit follows the median
	format := func(v float64) string { return fmt.Sprintf("%.2fx", v) }
	switch {
	case ratioArg.MatchString(arg):
		m := ratioArg.FindStringSubmatch(arg)
		r.figure = m[1] + " / " + m[2] + " (ns/op)"
		op, limit = m[3], m[4]
		values, err = perRound(runs, m[1], m[2], "ns/op", "ns/op", func(a, b float64) float64 { return a / b })
	case metricRatioArg.MatchString(arg) && (strings.ContainsAny(arg, "<>") || !hasMetric(runs, arg)):
		m := metricRatioArg.FindStringSubmatch(arg)
		r.figure = m[1] + " " + m[2] + " / " + m[3]
		op, limit = m[4], m[5]
		values, err = perRound(runs, m[1], m[1], m[2], m[3], func(a, b float64) float64 { return a / b })
	case metricArg.MatchString(arg):
		m := metricArg.FindStringSubmatch(arg)
		name := m[1]
		unit = " " + m[2]
		op, limit = m[3], m[4]
		if _, ok := runs[name]; ok {
			r.figure = name + unit
			format = value
			values, err = perRound(runs, name, name, m[2], m[2], func(a, _ float64) float64 { return a })
			break
		}
		a, b, found := splitPair(runs, name)
		if !found {
			r.figure = name + unit
			err = fmt.Errorf("%w: no benchmark %q, nor two benchmarks A-B, in the input", errNotMeasured, name)
			break
		}
		r.figure = a + " - " + b + unit
		format = func(v float64) string { return fmt.Sprintf("%+.3f", v) }
		values, err = perRound(runs, a, b, m[2], m[2], func(a, b float64) float64 { return a - b })
	default:
		return row{}, fmt.Errorf("argument %q is not A/B<=X, A/B>=X, A:U1/U2[<=X], A-B:U or A:U[<=X]", arg)
	}
	var x float64
	if op != "" {
		var perr error
		if x, perr = strconv.ParseFloat(limit, 64); perr != nil {
			return row{}, fmt.Errorf("argument %q: target %q is not a number", arg, limit)
		}
		r.target = op + " " + limit
	}
	if err != nil {
		r.median, r.verdict = "-", "NOT MEASURED"
		return r, err
	}
	med := median(values)
	r.median = format(med) + unit
	r.rounds = fmt.Sprintf("%s to %s (%d)", format(values[0]), format(values[len(values)-1]), len(values))
	if op != "" {
		if (op == "<=" && med <= x) || (op == ">=" && med >= x) {
			r.verdict = "met"
		} else {
			r.verdict = "MISSED"
		}
	}
	return r, nil
}

// splitPair splits "A-B" at the dash that leaves two benchmarks of the input (names may
// hold dashes themselves).
func splitPair(runs map[string][]benchRun, name string) (a, b string, ok bool) {
	for i := range len(name) {
		if name[i] != '-' {
			continue
		}
		_, okA := runs[name[:i]]
		_, okB := runs[name[i+1:]]
		if okA && okB {
			return name[:i], name[i+1:], true
		}
	}
	return "", "", false
}

// perRound applies f to benchmark a's metric ua and benchmark b's metric ub in each round
// they both ran, and returns the results sorted.
func perRound(runs map[string][]benchRun, a, b, ua, ub string, f func(a, b float64) float64) ([]float64, error) {
	ra, rb := runs[a], runs[b]
	n := min(len(ra), len(rb))
	if n == 0 && a == b {
		return nil, fmt.Errorf("%w: benchmark %q not in the input", errNotMeasured, a)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: benchmark %q or %q not in the input", errNotMeasured, a, b)
	}
	var out []float64
	for k := range n {
		va, okA := ra[k][ua]
		vb, okB := rb[k][ub]
		if !okA || !okB {
			return nil, fmt.Errorf("%w: metric %q of %q or %q of %q not in the input", errNotMeasured, ua, a, ub, b)
		}
		out = append(out, f(va, vb))
	}
	for _, v := range out {
		if v != v || v > 1e300 || v < -1e300 { // a 0 baseline: NaN or ±Inf, not a figure
			return nil, fmt.Errorf("%w: %s of %q over %s of %q has a zero baseline", errNotMeasured, ua, a, ub, b)
		}
	}
	slices.Sort(out)
	return out, nil
}

// value formats a metric with three significant digits, and whole numbers from 100 up.
func value(v float64) string {
	if v >= 100 || v <= -100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// printTable prints rows aligned under a header, then how many targets were met, and
// returns how many failed.
func printTable(out io.Writer, rows []row) int {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tmedian\trounds: range (n)\ttarget\t")
	met, failed := 0, 0
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.figure, r.median, r.rounds, r.target, r.verdict)
		switch {
		case r.verdict == "met":
			met++
		case r.failed():
			failed++
		}
	}
	w.Flush()
	fmt.Fprintf(out, "targets: %d met, %d missed or not measured\n", met, failed)
	return failed
}

func appendRows(path string, rows []row) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	for _, r := range rows {
		fmt.Fprintf(f, "%s\t%s\t%s\t%s\t%s\n", r.figure, r.median, r.rounds, r.target, r.verdict)
	}
	return f.Close()
}

func showTable(path string, out io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rows []row
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return fmt.Errorf("%s: malformed row %q", path, line)
		}
		rows = append(rows, row{f[0], f[1], f[2], f[3], f[4]})
	}
	printTable(out, rows) // its last line tells; the Makefile decides the exit status
	return nil
}
