package peerdom_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

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

// TestParseLinear checks that the parser's work grows linearly with the input for every
// adversarial shape, counting work rather than timing it: one parse of a 100 KiB text may
// allocate at most 1.5x the objects and bytes of eight parses of a 12.5 KiB text of the
// same shape (the same bytes). Allocation counts are exact whatever the machine's load; a
// parser that copies or rebuilds what it already read (a quadratic step's usual shape in
// Go) is near 8x. A quadratic rescan that allocates nothing shows only in time: `make
// bench` holds every shape's time per byte to the corpus's (BenchmarkParseAdversarial).
func TestParseLinear(t *testing.T) {
	const small, large, maxRatio = 12800, 102400, 1.5
	for _, s := range adversarialShapes {
		t.Run(s.name, func(t *testing.T) {
			smallText, largeText := s.text(small), s.text(large)
			smallObjs, smallBytes := parseAllocs(smallText, large/small)
			largeObjs, largeBytes := parseAllocs(largeText, 1)
			t.Logf("100 KiB: %d objects, %d bytes; 12.5 KiB x8: %d objects, %d bytes", largeObjs, largeBytes, smallObjs, smallBytes)
			if float64(largeObjs) > maxRatio*float64(max(smallObjs, 1)) || float64(largeBytes) > maxRatio*float64(max(smallBytes, 1)) {
				t.Errorf("100 KiB: %d objects, %d bytes; 12.5 KiB x8: %d objects, %d bytes; want at most %.1fx",
					largeObjs, largeBytes, smallObjs, smallBytes, maxRatio)
			}
		})
	}
}

// parseAllocs is what parsing text reps times in a row allocates: objects and bytes,
// counted exactly by the runtime (the smallest of three runs, in case something else in
// the process allocated meanwhile).
func parseAllocs(text string, reps int) (objects, bytes uint64) {
	objects, bytes = 1<<63, 1<<63
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range reps {
			peerdom.Parse(text)
		}
		runtime.ReadMemStats(&after)
		objects, bytes = min(objects, after.Mallocs-before.Mallocs), min(bytes, after.TotalAlloc-before.TotalAlloc)
	}
	return objects, bytes
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
