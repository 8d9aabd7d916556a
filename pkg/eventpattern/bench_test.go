package eventpattern_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// typicalRule is the kind of rule template.yaml routes actions by: source, detail-type
// and a detail filter that excludes the automation's own author.
const typicalRule = `{"source":["peerdom"],"detail-type":["Peer Created","Peer Updated"],
  "detail":{"changedFields":["Location","Name"],"author":{"email":[{"anything-but":["bot@acme.example"]}]}}}`

// BenchmarkMatchEvent measures one typical rule against one decoded typical event, and
// reports it against the baseline of decoding that event (which a bus does once per
// event, whatever the number of rules), measured in the same run.
func BenchmarkMatchEvent(b *testing.B) {
	p := eventpattern.MustCompile(typicalRule)
	raw := []byte(peerUpdated)
	ev, err := eventpattern.DecodeEvent(raw)
	if err != nil || !p.MatchEvent(ev) {
		b.Fatalf("the benchmark event must match the rule (err %v)", err)
	}
	decode := decodeBaseline(b, raw)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !p.MatchEvent(ev) {
			b.Fatal("no match")
		}
	}
	b.StopTimer()
	b.ReportMetric(decode, "decode-ns/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/decode, "match/decode")
}

// BenchmarkMatch is the one-off path: decode and match.
func BenchmarkMatch(b *testing.B) {
	p := eventpattern.MustCompile(typicalRule)
	raw := []byte(peerUpdated)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if ok, err := p.Match(raw); err != nil || !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkRoute routes one event through a bus of rules: decode once, match every rule.
// It reports events routed per second next to the decode-only baseline.
func BenchmarkRoute(b *testing.B) {
	var rules []*eventpattern.Pattern
	for _, dt := range []string{"Role", "Group", "Peer"} {
		for _, a := range []string{"Created", "Updated", "Deleted"} {
			rules = append(rules,
				eventpattern.MustCompile(fmt.Sprintf(`{"source":["peerdom"],"detail-type":["%s %s"]}`, dt, a)),
				eventpattern.MustCompile(fmt.Sprintf(`{"source":["peerdom"],"detail-type":["%s %s"],"detail":{"author":{"email":[{"anything-but":"bot@acme.example"}]}}}`, dt, a)))
		}
	}
	rules = append(rules, eventpattern.MustCompile(typicalRule))
	raw := []byte(peerUpdated)
	decode := decodeBaseline(b, raw)
	b.ResetTimer()
	matched := 0
	for i := 0; i < b.N; i++ {
		ev, err := eventpattern.DecodeEvent(raw)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rules {
			if r.MatchEvent(ev) {
				matched++
			}
		}
	}
	b.StopTimer()
	if matched != 3*b.N {
		b.Fatalf("matched %d rules per event, want 3", matched/b.N)
	}
	b.ReportMetric(float64(len(rules)), "rules")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/decode, "route/decode")
}

// decodeBaseline is the time (ns) DecodeEvent takes for raw, measured in the benchmark's
// own run for a fixed stretch of time: b.N is sized for the (much faster) matching and
// would make the baseline run for minutes.
func decodeBaseline(b *testing.B, raw []byte) float64 {
	n := 0
	start := time.Now()
	for time.Since(start) < 300*time.Millisecond {
		for i := 0; i < 100; i++ {
			if _, err := eventpattern.DecodeEvent(raw); err != nil {
				b.Fatal(err)
			}
		}
		n += 100
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}
