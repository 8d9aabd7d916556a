package eventpattern_test

// `make bench` sets these beside their baseline, BaselineDecodeEvent (decoding the event,
// which a bus does once per event whatever the number of rules):
//   MatchEvent/BaselineDecodeEvent <= 0.05: one rule costs under 5% of the decode;
//   Route/BaselineDecodeEvent <= 1.5: decoding and trying a bus's 19 rules costs at most
//   half as much again as decoding alone.

import (
	"fmt"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// typicalRule is the kind of rule template.yaml routes actions by: source, detail-type
// and a detail filter that leaves out the automation's own author.
const typicalRule = `{"source":["peerdom"],"detail-type":["Peer Created","Peer Updated"],
  "detail":{"changedFields":["Location","Name"],"author":{"email":[{"anything-but":["bot@acme.example"]}]}}}`

// BenchmarkMatchEvent is one typical rule against one decoded typical event.
func BenchmarkMatchEvent(b *testing.B) {
	p := eventpattern.MustCompile(typicalRule)
	ev, err := eventpattern.DecodeEvent([]byte(peerUpdated))
	if err != nil || !p.MatchEvent(ev) {
		b.Fatalf("the benchmark event must match the rule (err %v)", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !p.MatchEvent(ev) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkBaselineDecodeEvent is the baseline: decoding the event.
func BenchmarkBaselineDecodeEvent(b *testing.B) {
	raw := []byte(peerUpdated)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eventpattern.DecodeEvent(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch is the one-off path: decode and match one rule.
func BenchmarkMatch(b *testing.B) {
	p := eventpattern.MustCompile(typicalRule)
	raw := []byte(peerUpdated)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Match(raw); err != nil || !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkRoute routes one event through a bus of 19 rules: decode once, try every
// rule. Three of them match.
func BenchmarkRoute(b *testing.B) {
	var rules []*eventpattern.Pattern
	for _, entity := range []string{"Role", "Group", "Peer"} {
		for _, action := range []string{"Created", "Updated", "Deleted"} {
			dt := entity + " " + action
			rules = append(rules,
				eventpattern.MustCompile(fmt.Sprintf(`{"source":["peerdom"],"detail-type":[%q]}`, dt)),
				eventpattern.MustCompile(fmt.Sprintf(`{"source":["peerdom"],"detail-type":[%q],
				  "detail":{"author":{"email":[{"anything-but":"bot@acme.example"}]}}}`, dt)))
		}
	}
	rules = append(rules, eventpattern.MustCompile(typicalRule))
	raw := []byte(peerUpdated)
	b.ReportAllocs()
	for b.Loop() {
		ev, err := eventpattern.DecodeEvent(raw)
		if err != nil {
			b.Fatal(err)
		}
		matched := 0
		for _, r := range rules {
			if r.MatchEvent(ev) {
				matched++
			}
		}
		if matched != 3 {
			b.Fatalf("matched %d rules, want 3", matched)
		}
	}
}
