package peerdom_test

import (
	"encoding/json"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/text"

	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The three benchmarks below each process every corpus message once per op, so their
// ns/op compare directly: `make bench` prints Parse's ratio to the two baselines.

// BenchmarkParse is the parser on the corpus texts.
func BenchmarkParse(b *testing.B) {
	cases := corpus.Load(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			peerdom.Parse(c.Text)
		}
	}
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		for _, c := range cases {
			peerdom.Parse(c.Text)
		}
	}))/float64(len(cases)), "allocs/msg")
}

// BenchmarkBaselineJSONDecode is encoding/json decoding the same webhook bodies: the
// cost every webhook pays anyway.
func BenchmarkBaselineJSONDecode(b *testing.B) {
	cases := corpus.Load(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			var w peerdom.Webhook
			if err := json.Unmarshal(c.Body, &w); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBaselineGoldmark is a goldmark AST parse of the same texts: what one would
// reach for instead of a hand-written parser (and it only gives an AST, not an event).
func BenchmarkBaselineGoldmark(b *testing.B) {
	cases := corpus.Load(b)
	md := goldmark.New()
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			src := []byte(c.Text)
			md.Parser().Parse(text.NewReader(src))
		}
	}
}

// TestParseAllocationsBounded keeps the parser's allocations per message bounded: a
// map for the fields, the change slices, the author, and little else.
func TestParseAllocationsBounded(t *testing.T) {
	const maxAllocs = 12
	for _, c := range corpus.Load(t) {
		if n := testing.AllocsPerRun(20, func() { peerdom.Parse(c.Text) }); n > maxAllocs {
			t.Errorf("%s: %v allocations, want at most %d", c.Name, n, maxAllocs)
		}
	}
}
