package peerdom_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/text"

	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The benchmarks below each process every corpus message once per op, so their ns/op
// compare directly: `make bench` prints Parse's ratio to the two baselines.

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

// BenchmarkWebhookToDetail is the whole way a message takes through peerbridge, per
// corpus message: the body is decoded (ingest), wrapped in a delivery and encoded as the
// queued envelope; the envelope is decoded, parsed and the detail encoded as the bus
// entry's JSON (the worker).
func BenchmarkWebhookToDetail(b *testing.B) {
	cases := corpus.Load(b)
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			w, err := peerdom.DecodeWebhook(c.Body)
			if err != nil {
				b.Fatal(err)
			}
			envelope, err := peerdom.EncodeDelivery(peerdom.NewDelivery("", at, w.Text, peerdom.Sender{Address: "192.0.2.1"}))
			if err != nil {
				b.Fatal(err)
			}
			d, err := peerdom.DecodeDeliveryString(envelope)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(peerdom.NewEvent("", d).Detail); err != nil {
				b.Fatal(err)
			}
		}
	}
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

// TestParseAllocationsBounded keeps the parser's allocations per message bounded: the
// fields, the change slices, the author, the list items, and little else.
func TestParseAllocationsBounded(t *testing.T) {
	const maxAllocs = 8
	for _, c := range corpus.Load(t) {
		if n := testing.AllocsPerRun(20, func() { peerdom.Parse(c.Text) }); n > maxAllocs {
			t.Errorf("%s: %v allocations, want at most %d", c.Name, n, maxAllocs)
		}
	}
}
