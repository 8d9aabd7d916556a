package samapp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/entity"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// sampleEvent is the bus event the worker publishes for a webhook sample.
func sampleEvent(t *testing.T, kind string) []byte {
	t.Helper()
	ev := peerdom.NewEvent(sampleSource, delivery("route-"+kind, kind))
	detail, err := marshal(ev.Detail, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshal(busEvent{Version: "0", ID: sampleID("route " + kind), DetailType: ev.DetailType, Source: ev.Source,
		Account: sampleAccount, Time: ev.Time, Region: sampleRegion, Resources: []string{}, Detail: detail}, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRulesRouteTheSamples runs every webhook sample's event through the rules of the
// template (parameters at their defaults but for the options that deploy the actions) and
// checks which actions it reaches, as the bus would route it.
func TestRulesRouteTheSamples(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot(t), "template.yaml"), allOn)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	patterns := map[string]*eventpattern.Pattern{}
	for _, fn := range fns {
		for _, r := range fn.Rules {
			p, err := eventpattern.Compile(r.Pattern)
			if err != nil {
				t.Fatalf("%s rule %s: %v", fn.LogicalID, r.Name, err)
			}
			if r.Bus != "EventBus" {
				t.Errorf("%s rule %s is on bus %q, want the template's EventBus", fn.LogicalID, r.Name, r.Bus)
			}
			patterns[fn.LogicalID] = p
			var pat struct {
				Source     []string `json:"source"`
				DetailType []string `json:"detail-type"`
			}
			if err := json.Unmarshal(r.Pattern, &pat); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pat.Source, []string{tpl.Params["EventSource"]}) {
				t.Errorf("%s: pattern source %v, want the EventSource parameter", fn.LogicalID, pat.Source)
			}
			for _, dt := range pat.DetailType {
				if !slices.Contains(peerdom.DetailTypes(), dt) {
					t.Errorf("%s: pattern detail-type %q is not one of the contract's", fn.LogicalID, dt)
				}
			}
		}
	}
	want := map[string][]string{
		"role-created":      {"EnrichFunction", "RoleDefaultsFunction"},
		"role-updated":      {"EnrichFunction"},
		"role-deleted":      {"EnrichFunction"}, // a tombstone in the entity state
		"group-created":     {"EnrichFunction"},
		"group-updated":     {"EnrichFunction"},
		"group-deleted":     {"EnrichFunction"}, // a tombstone in the entity state
		"peer-created":      {"EnrichFunction", "OnboardPeerFunction"},
		"peer-updated":      {"EnrichFunction"},
		"peer-deleted":      {"EnrichFunction"}, // a tombstone in the entity state
		webhooksamples.Test: nil,
	}
	for _, kind := range webhooksamples.Kinds() {
		ev := sampleEvent(t, kind)
		var got []string
		for id, p := range patterns {
			ok, err := p.Match(ev)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				got = append(got, id)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want[kind]) {
			t.Errorf("%s reaches %v, want %v", kind, got, want[kind])
		}
	}
	// An enrich snapshot is on the same bus with the same source: no action may take it.
	snapshot := []byte(`{"version":"0","id":"x","detail-type":"Role Snapshot","source":"peerdom","account":"1","time":"2026-11-28T10:00:00Z","region":"us-east-1","resources":[],"detail":{"entity":"role","entityId":"` + sampleRoleID + `"}}`)
	for id, p := range patterns {
		if ok, _ := p.Match(snapshot); ok {
			t.Errorf("%s takes enrich's Role Snapshot events: a loop", id)
		}
	}

	// The action samples in events/ reach their own action.
	for _, c := range actionCases() {
		ev, _, err := c.event()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ev)
		id := map[string]string{"onboard-peer": "OnboardPeerFunction", "role-defaults": "RoleDefaultsFunction", "enrich": "EnrichFunction"}[c.function]
		if ok, _ := patterns[id].Match(b); !ok {
			t.Errorf("events/%s/%s.json does not match %s's rule", c.function, c.file, id)
		}
	}
}

func TestChatPatternDefault(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot(t), "template.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := eventpattern.Compile([]byte(tpl.Params["ChatEventPattern"]))
	if err != nil {
		t.Fatalf("ChatEventPattern default: %v", err)
	}
	for _, kind := range webhooksamples.Kinds() {
		ok, err := p.Match(sampleEvent(t, kind))
		if err != nil {
			t.Fatal(err)
		}
		if want := kind != webhooksamples.Test; ok != want {
			t.Errorf("chat takes %s: %v, want %v (every recognized change, not the Test URL message)", kind, ok, want)
		}
	}
}

func TestSchemaDescribesTheEvents(t *testing.T) {
	root := repoRoot(t)
	path := filepath.Join(root, "events", "schemas", "peerdom-event.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			DetailType struct {
				Enum []string `json:"enum"`
			} `json:"detail-type"`
		} `json:"properties"`
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(schema.Properties.DetailType.Enum, peerdom.DetailTypes()) {
		t.Errorf("schema detail-types %v, want the contract's %v", schema.Properties.DetailType.Enum, peerdom.DetailTypes())
	}
	for def, typ := range map[string]reflect.Type{"PeerdomDetail": reflect.TypeFor[peerdom.Detail](), "Author": reflect.TypeFor[peerdom.Author]()} {
		var keys []string
		for k := range schema.Definitions[def].Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fields []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields = append(fields, name)
		}
		sort.Strings(fields)
		if !slices.Equal(keys, fields) {
			t.Errorf("schema %s has %v, the code's %s has %v", def, keys, typ, fields)
		}
	}

	// Every sample event validates, and a wrong one does not (the validator is live).
	var docs [][]byte
	for _, kind := range webhooksamples.Kinds() {
		docs = append(docs, sampleEvent(t, kind))
	}
	for _, c := range actionCases() {
		ev, _, err := c.event()
		if err != nil {
			t.Fatal(err)
		}
		d, _ := json.Marshal(ev)
		docs = append(docs, d)
	}
	docs = append(docs, reconcileSampleEvent(t))
	docs = append(docs, bytes.Replace(sampleEvent(t, "group-created"), []byte(`"entity":"group"`), []byte(`"entity":"circle"`), 1))
	results := validate(t, path, docs)
	for i, r := range results[:len(results)-1] {
		if r != "ok" {
			t.Errorf("sample %d does not validate: %s\n%s", i, r, docs[i])
		}
	}
	if last := results[len(results)-1]; !strings.Contains(last, "circle") {
		t.Errorf("entity \"circle\" validated: %s", last)
	}
}

// reconcileSampleEvent is an event reconciliation publishes (docs/contract.md): origin, no text.
func reconcileSampleEvent(t *testing.T) []byte {
	t.Helper()
	before, err := entity.ObjectOf(peerdom.EntityRole, json.RawMessage(`{"id":"9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66","name":"Engineer","holders":[]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	after := before
	after.Name, after.Fields = "Senior Engineer", []entity.FieldValue{{Name: "Name", Values: []string{"Senior Engineer"}}, {Name: "Holders", Values: []string{"Ada Lovelace"}, List: true}}
	at := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	d, ok := entity.ReconcileDetail(sampleID("reconcile"), at, "acme", entity.Difference{Before: &before, After: &after})
	if !ok {
		t.Fatal("no difference")
	}
	detail, err := marshal(d, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshal(busEvent{Version: "0", ID: sampleID("route reconcile"), DetailType: d.DetailType(), Source: sampleSource,
		Account: sampleAccount, Time: at, Region: sampleRegion, Resources: []string{}, Detail: detail}, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validate checks documents against a schema with Python's jsonschema (draft 4), the
// reference validator, from the venv.
func validate(t *testing.T, schema string, docs [][]byte) []string {
	t.Helper()
	cmd := exec.Command(mototest.Python(), filepath.Join("testdata", "validate.py"), schema)
	cmd.Stdin = bytes.NewReader(append(bytes.Join(docs, []byte("\n")), '\n'))
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("validate.py (jsonschema from the venv, `make venv`): %v\n%s", err, stderr)
	}
	var results []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		results = append(results, sc.Text())
	}
	if len(results) != len(docs) {
		t.Fatalf("validate.py answered %d lines for %d documents:\n%s", len(results), len(docs), out)
	}
	return results
}
