// Package eventrulercorpus generates the corpus of (event pattern, event) pairs on which
// pkg/eventpattern is held to event-ruler, the matcher AWS publishes and EventBridge is
// built on. The generator is seeded: the same seed gives the same corpus, byte for byte.
//
// `make eventruler-verdicts` writes the corpus (tools/eventruler), runs event-ruler over
// it with Java, and records its verdicts in pkg/eventpattern/testdata; the Go test there
// regenerates the corpus, checks that the recording is of this very corpus, and holds
// pkg/eventpattern to every verdict.
package eventrulercorpus

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Seed and Patterns are what the recorded corpus was generated with.
const (
	Seed           = 21
	Patterns       = 3500
	EventsPerGroup = 8
)

// Group is one pattern with the events it is tried on; both are JSON texts.
type Group struct {
	Pattern string   `json:"pattern"`
	Events  []string `json:"events"`
}

// Corpus is the whole corpus: the generated groups, then the template's rules against
// the events/ samples and the webhook samples' bus events.
func Corpus(repoRoot string) ([]Group, error) {
	gs := Generate(Seed, Patterns)
	tg, err := TemplateGroups(repoRoot)
	if err != nil {
		return nil, err
	}
	return append(gs, tg...), nil
}

// TemplateParams deploy every optional part of template.yaml.
var TemplateParams = map[string]string{
	"PeerdomApiKeyParameterName": "/peerbridge/peerdom-api-key",
	"OnboardingRoleIds":          "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66",
	"RoleDefaults":               `{"9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66":{"Purpose":"Meetings that end on time"}}`,
	"ChatWebhookUrlSecretName":   "peerbridge/chat-webhook-url",
	"AlarmTopicArn":              "arn:aws:sns:us-east-1:123456789012:alarms",
}

// TemplateGroups is every rule pattern of template.yaml (the chat rule's default pattern
// included) against every JSON sample under events/ and the bus event of every webhook
// sample.
func TemplateGroups(repoRoot string) ([]Group, error) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, "template.yaml"), TemplateParams)
	if err != nil {
		return nil, err
	}
	fns, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	var patterns []string
	for _, fn := range fns {
		for _, r := range fn.Rules {
			patterns = append(patterns, string(r.Pattern))
		}
	}
	patterns = append(patterns, tpl.Params["ChatEventPattern"])
	sort.Strings(patterns)

	var events []string
	err = filepath.WalkDir(filepath.Join(repoRoot, "events"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var v map[string]any
		if json.Unmarshal(b, &v) != nil {
			return nil // not an event object
		}
		c, err := compact(b)
		if err != nil {
			return err
		}
		events = append(events, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, kind := range webhooksamples.Kinds() {
		text, _ := webhooksamples.Get(kind)
		ev := peerdom.NewEvent(peerdom.DefaultSource, peerdom.NewDelivery("d-"+kind, at, text, peerdom.Sender{}))
		detail, err := json.Marshal(ev.Detail)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(map[string]any{"version": "0", "id": "e-" + kind, "detail-type": ev.DetailType,
			"source": ev.Source, "account": "123456789012", "time": ev.Time, "region": "us-east-1",
			"resources": []string{}, "detail": json.RawMessage(detail)})
		if err != nil {
			return nil, err
		}
		events = append(events, string(b))
	}
	out := make([]Group, 0, len(patterns))
	for _, p := range patterns {
		out = append(out, Group{Pattern: p, Events: events})
	}
	return out, nil
}

func compact(b []byte) (string, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	var v json.RawMessage = b
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(sb.String()), nil
}

// Generate makes n groups from seed: each a pattern drawn from an EventBridge-shaped
// event, and EventsPerGroup events — that event and variations of it near the pattern's
// edges.
func Generate(seed uint64, n int) []Group {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	out := make([]Group, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, g.group())
	}
	return out
}

// Pairs counts a corpus's (pattern, event) pairs.
func Pairs(gs []Group) int {
	n := 0
	for _, g := range gs {
		n += len(g.Events)
	}
	return n
}

// Marshal writes a value as compact JSON, keys in order, without HTML escaping.
func Marshal(v any) string {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("eventrulercorpus: %v", err))
	}
	return strings.TrimSpace(sb.String())
}
