package operate

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

func TestChooseRules(t *testing.T) {
	all := []Rule{
		{Name: "s-OnboardPeerFunctionPeerCreated-A", Pattern: `{"detail-type":["Peer Created"]}`},
		{Name: "s-EnrichFunctionEntityChanged-B", Pattern: `{"detail-type":["Role Created","Peer Updated"]}`},
		{Name: "s-ChatRule-C", Pattern: `{"detail-type":["Role Created"]}`},
		{Name: TailRulePrefix + "123", Pattern: `{"source":["peerdom"]}`},
		{Name: "mine", Pattern: `{"source":["peerdom"]}`},
	}
	names := func(r Replay) []string {
		got, err := ChooseRules(all, r)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		return RuleNames(got)
	}
	for _, c := range []struct {
		r    Replay
		want []string
	}{
		{Replay{}, []string{"s-OnboardPeerFunctionPeerCreated-A", "s-EnrichFunctionEntityChanged-B", "mine"}},
		{Replay{DetailTypes: []string{"Role Created"}}, []string{"s-EnrichFunctionEntityChanged-B", "mine"}},
		{Replay{Rules: []string{"s-ChatRule-C"}}, []string{"s-ChatRule-C"}}, // chat only when named
		{Replay{Rules: []string{"s-ChatRule-C"}, DetailTypes: []string{"Peer Created"}}, []string{"error: no rule to replay to: name one with --rule"}},
	} {
		if got := names(c.r); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.r, got, c.want)
		}
	}
	if got := names(Replay{Rules: []string{"nope"}}); !strings.Contains(got[0], `no rule "nope" on the bus; its rules: s-Onboard`) {
		t.Errorf("unknown rule: %v", got)
	}
}

// TestReplayOnMoto starts a replay of the test stack's archive to the chosen rules and
// follows it: moto keeps the request's destination and reports the replay COMPLETED at
// once. Which archived events reach which rule is EventBridge's part and not tested here.
func TestReplayOnMoto(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	eb := eventbridge.NewFromConfig(mototest.Config(t))
	rules, err := BusRules(context.Background(), eb, s.Outputs[OutputEventBusName])
	if err != nil || len(rules) != 4 { // the archive's rule too
		t.Fatalf("rules %v, %v", rules, err)
	}
	chosen, err := ChooseRules(rules, Replay{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	name, err := StartReplay(context.Background(), eb, s.Outputs[OutputEventArchiveArn], s.Outputs["EventBusArn"], chosen, Replay{Since: now.Add(-time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	p, err := FollowReplay(context.Background(), eb, name, 10*time.Millisecond, func(p ReplayProgress) { seen = append(seen, p.State) })
	if err != nil || p.State != "COMPLETED" || len(seen) == 0 {
		t.Fatalf("followed %v to %+v, %v", seen, p, err)
	}
	slices.Sort(p.Rules)
	want := []string{chosen[0].Arn, chosen[1].Arn}
	slices.Sort(want)
	if !slices.Equal(p.Rules, want) || slices.ContainsFunc(p.Rules, func(a string) bool { return strings.Contains(a, "ChatRule") }) {
		t.Errorf("replayed to %v, want %v (never the chat rule)", p.Rules, want)
	}
	if _, err := StartReplay(context.Background(), eb, "arn", "arn", chosen, Replay{Since: now}, now.Add(-time.Minute)); err == nil {
		t.Error("--since after --until accepted")
	}
}
