package peerdom_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// adversarialShape is a text that a parser with a quadratic step would choke on: prefix,
// then unit repeated up to the size wanted.
type adversarialShape struct {
	name, prefix, unit string
}

const updatedHeader = "**[Role](https://app.peerdom.org/acme/roles/ops)** was updated\n"

var adversarialShapes = []adversarialShape{
	{"brackets", "", "["},                                 // one header line of [
	{"bold-brackets", "", "**["},                          // **[**[**[
	{"link-opens", "", "[x]("},                            // a label, then a destination that never closes
	{"escaped-brackets", "Role updated ", `\\[`},          // backslashes before every [
	{"parens", updatedHeader + "**Author:** a@b.c ", "("}, // an author of (((
	{"author-words", updatedHeader + "**Author:** a@b.c ", "w "},
	{"bold-runs", updatedHeader, "**"}, // a line of **
	{"nesting", "", ""},                // [[[x]]]((( u ))), see adversarialText
	{"huge-line", updatedHeader + "**Purpose:** ", "word "},
	{"short-lines", updatedHeader + "**Purpose:** a\n", "x\n"}, // 50,000 continuation lines
	{"field-lines", updatedHeader, "**F:** a -> b\n"},          // one field name, many times
	{"distinct-fields", updatedHeader, ""},                     // **F1:** v, **F2:** v, ...
	{"markers", updatedHeader + "**Skills:** ", "[+] a [-] b "},
	{"marker-only", updatedHeader + "**Skills:** ", "[+]"},
	{"arrows", updatedHeader + "**Name:** ", "a -> b → "},
	{"backslashes", updatedHeader + "**Name:** ", `\`},
}

// text is the shape at exactly n bytes (padded with spaces).
func (s adversarialShape) text(n int) string {
	var b strings.Builder
	b.Grow(n)
	if s.name == "nesting" {
		k := n / 4
		b.WriteString(strings.Repeat("[", k) + "x" + strings.Repeat("]", k) + strings.Repeat("(", k) + "u" + strings.Repeat(")", k-2))
	} else if s.name == "distinct-fields" {
		b.WriteString(s.prefix)
		for i := 0; b.Len()+16 <= n; i++ {
			fmt.Fprintf(&b, "**F%d:** v\n", i)
		}
	} else {
		b.WriteString(s.prefix)
		for b.Len()+len(s.unit) <= n {
			b.WriteString(s.unit)
		}
	}
	for b.Len() < n {
		b.WriteByte(' ')
	}
	return b.String()[:n]
}

// corpusRun is the corpus texts repeated until they hold at least 100 KiB: the work one
// op of BenchmarkParseCorpus100KiB does, and the size of every adversarial text, so that
// the two benchmarks' ns/op compare per byte.
func corpusRun(tb testing.TB) (texts []string, bytes int) {
	cases := corpus.Load(tb)
	for bytes < 100<<10 {
		for _, c := range cases {
			texts = append(texts, c.Text)
			bytes += len(c.Text)
		}
	}
	return texts, bytes
}

// BenchmarkParseCorpus100KiB parses the corpus texts, about 100 KiB of them per op.
func BenchmarkParseCorpus100KiB(b *testing.B) {
	texts, n := corpusRun(b)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range texts {
			peerdom.Parse(t)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/byte")
}

// BenchmarkParseAdversarial parses each adversarial shape at the size of
// BenchmarkParseCorpus100KiB's op: `make bench` holds each to at most 5x the corpus.
func BenchmarkParseAdversarial(b *testing.B) {
	_, n := corpusRun(b)
	for _, s := range adversarialShapes {
		text := s.text(n)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				peerdom.Parse(text)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/byte")
		})
	}
}

// minParseTime is the shortest of several timings of parsing text reps times in a row.
func minParseTime(text string, reps, runs int) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range runs {
		runtime.GC() // no run pays for the garbage of the one before
		start := time.Now()
		for range reps {
			peerdom.Parse(text)
		}
		best = min(best, time.Since(start))
	}
	return best
}

// TestParseLinear checks that parsing time grows linearly with the input for every
// adversarial shape: parsing one 100 KiB text takes at most 3x as long as parsing a
// 12.5 KiB text of the same shape 8 times (the same bytes). A linear parser is near 1x;
// a quadratic one near 8x. The minimum of several runs keeps a busy machine from
// deciding; a first 100 KiB parse far over the limit fails at once.
func TestParseLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	const small, large, maxRatio = 12800, 102400, 3.0
	// The collector is off while timing: it measures the parser's steps, not when a
	// collection happens to start (minParseTime collects between runs).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, s := range adversarialShapes {
		t.Run(s.name, func(t *testing.T) {
			smallText, largeText := s.text(small), s.text(large)
			smallTime := minParseTime(smallText, large/small, 11)
			limit := time.Duration(maxRatio * float64(smallTime))
			if first := minParseTime(largeText, 1, 1); first > 20*limit {
				t.Fatalf("100 KiB: %v, 12.5 KiB x8: %v; want at most %.0fx", first, smallTime, maxRatio)
			}
			largeTime := minParseTime(largeText, 1, 11)
			t.Logf("100 KiB: %v, 12.5 KiB x8: %v (%.2fx)", largeTime, smallTime, float64(largeTime)/float64(smallTime))
			if largeTime > limit {
				t.Errorf("100 KiB: %v, 12.5 KiB x8: %v (%.1fx); want at most %.0fx",
					largeTime, smallTime, float64(largeTime)/float64(smallTime), maxRatio)
			}
		})
	}
}

// TestParseMemoryBounded checks that a parse allocates memory in proportion to its input
// on every adversarial shape (about 16 bytes per byte at most today: the bracket index
// of a header of brackets).
func TestParseMemoryBounded(t *testing.T) {
	const size, maxPerByte = 102400, 32
	for _, s := range adversarialShapes {
		text := s.text(size)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		peerdom.Parse(text)
		runtime.ReadMemStats(&after)
		n := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %.1f bytes allocated per byte of text", s.name, float64(n)/size)
		if n > maxPerByte*size {
			t.Errorf("%s: %d bytes allocated for a %d-byte text; want at most %d per byte", s.name, n, size, maxPerByte)
		}
	}
}
