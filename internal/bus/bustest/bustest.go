// Package bustest is the conformance suite of the port bus.Putter: one set of tests
// that every implementation runs (internal/bus/membus in memory, internal/bus/eventbridgebus
// over moto), covering PutEvents' limits, its per-entry failures, bus.Publish's splitting,
// and rule routing (a rule with an event pattern delivers the matching events to a
// target). Where an implementation differs from EventBridge, the difference is declared
// as a Feature and asserted both ways, so the declaration stays true.
package bustest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
)

// Features are where an implementation may differ from EventBridge; true is
// EventBridge's behaviour.
type Features struct {
	// RefusesOversizedCall: a call whose entries total more than bus.MaxPutBytes is
	// refused as a whole. moto 5.2.1 accepts it.
	RefusesOversizedCall bool
	// RefusesNonObjectDetail: a detail that is valid JSON but not an object (`[1,2]`) is
	// refused (MalformedDetail). moto 5.2.1 accepts it, with a warning.
	RefusesNonObjectDetail bool
	// MatchesObjectsInArrays: a pattern object applies to each object of an array in the
	// event (pkg/eventpattern does; moto 5.2.1 does not, see pkg/eventpattern's
	// differential test).
	MatchesObjectsInArrays bool
}

// Routed is an event as a rule's target gets it.
type Routed struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       time.Time       `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Instance is one fresh, empty bus for one test.
type Instance struct {
	Putter bus.Putter
	// Route adds a rule: the events put from then on that match pattern (an EventBridge
	// event pattern) go to a target. The returned function waits until the target has
	// at least want events (or a few seconds have passed) and returns all it has.
	Route func(t testing.TB, pattern string) (routed func(want int) []Routed)
}

// NewBus makes an empty bus.
type NewBus func(t *testing.T) Instance

// Run runs the whole suite.
func Run(t *testing.T, newBus NewBus, f Features) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewBus, Features)
	}{
		{"PutAndRoute", testPutAndRoute},
		{"MoreThanTenEntriesRefused", testTooManyEntries},
		{"OversizedCall", testOversizedCall},
		{"PublishSplitsAndSkipsTooLarge", testPublishSplits},
		{"PerEntryFailures", testPerEntryFailures},
		{"PatternRouting", testPatternRouting},
		{"ConcurrentPublishers", testConcurrentPublishers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each test has a bus of its own
			tc.fn(t, newBus, f)
		})
	}
}

// countingPutter counts the calls made through it.
type countingPutter struct {
	bus.Putter
	mu    sync.Mutex
	calls int
}

func (c *countingPutter) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.Putter.PutEvents(ctx, entries)
}

func put(t *testing.T, p bus.Putter, entries ...bus.Entry) []bus.Result {
	t.Helper()
	res, err := p.PutEvents(context.Background(), entries)
	if err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	if len(res) != len(entries) {
		t.Fatalf("%d results for %d entries", len(res), len(entries))
	}
	return res
}

func entry(detailType string, detail string) bus.Entry {
	return bus.Entry{Source: "bustest", DetailType: detailType, Detail: detail}
}

func byID(evs []Routed) map[string]Routed {
	m := make(map[string]Routed, len(evs))
	for _, e := range evs {
		m[e.ID] = e
	}
	return m
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// routedBesidesMarker puts one marker event and waits until it is routed; what else was
// routed by then is what the earlier puts routed, since a bus routes in order of puts
// here (membus at once, moto inside the PutEvents call). It returns those others.
func routedBesidesMarker(t *testing.T, p bus.Putter, routed func(int) []Routed) []Routed {
	t.Helper()
	return routedBesides(t, p, routed, entry("Marker", `{"marker":true}`))
}

// routedBesides is routedBesidesMarker with a marker of the caller's, which its rule
// must match.
func routedBesides(t *testing.T, p bus.Putter, routed func(int) []Routed, markerEntry bus.Entry) []Routed {
	t.Helper()
	marker := put(t, p, markerEntry)[0]
	if marker.Err() != nil {
		t.Fatalf("marker: %v", marker.Err())
	}
	var others []Routed
	got := routed(1)
	found := false
	for _, e := range got {
		if e.ID == marker.EventID {
			found = true
			continue
		}
		others = append(others, e)
	}
	if !found {
		t.Fatalf("the marker event was not routed (got %d events)", len(got))
	}
	return others
}

func testPutAndRoute(t *testing.T, newBus NewBus, f Features) {
	inst := newBus(t)
	routed := inst.Route(t, `{"source":["bustest"],"detail-type":["Role Created","Peer Deleted"]}`)
	at := time.Date(2026, 11, 30, 12, 34, 56, 0, time.UTC)
	entries := []bus.Entry{
		{Source: "bustest", DetailType: "Role Created", Detail: `{"id":"d-1","name":"Ops é → ü"}`, Time: at},
		{Source: "bustest", DetailType: "Role Updated", Detail: `{"id":"d-2"}`}, // not routed
		{Source: "bustest", DetailType: "Peer Deleted", Detail: `{"id":"d-3"}`, Resources: []string{"urn:peer:1"}},
	}
	res := put(t, inst.Putter, entries...)
	for i, r := range res {
		if r.Err() != nil || r.EventID == "" {
			t.Fatalf("entry %d: %+v", i, r)
		}
	}
	if res[0].EventID == res[2].EventID {
		t.Error("two entries got the same event id")
	}
	got := routed(2)
	if len(got) != 2 {
		t.Fatalf("routed %d events, want 2: %+v", len(got), got)
	}
	ids := byID(got)
	for _, i := range []int{0, 2} {
		e, ok := ids[res[i].EventID]
		if !ok || e.Source != "bustest" || e.DetailType != entries[i].DetailType || !sameJSON(e.Detail, []byte(entries[i].Detail)) {
			t.Errorf("entry %d routed as %+v", i, e)
		}
	}
	if e := ids[res[0].EventID]; !e.Time.Equal(at) {
		t.Errorf("time %v, want the entry's %v", e.Time, at)
	}
	if e := ids[res[2].EventID]; !slices.Equal(e.Resources, []string{"urn:peer:1"}) || e.Time.IsZero() {
		t.Errorf("resources %v, time %v; want the entry's resources and the receive time", e.Resources, e.Time)
	}
}

func testTooManyEntries(t *testing.T, newBus NewBus, f Features) {
	inst := newBus(t)
	routed := inst.Route(t, `{"source":["bustest"]}`)
	entries := make([]bus.Entry, bus.MaxEntriesPerPut+1)
	for i := range entries {
		entries[i] = entry("Many", fmt.Sprintf(`{"i":%d}`, i))
	}
	if res, err := inst.Putter.PutEvents(context.Background(), entries); err == nil {
		t.Fatalf("a call of %d entries was accepted: %+v", len(entries), res)
	}
	if others := routedBesidesMarker(t, inst.Putter, routed); len(others) != 0 {
		t.Errorf("the refused call routed %d events", len(others))
	}
}

func testOversizedCall(t *testing.T, newBus NewBus, f Features) {
	// Two entries, each under the limit, together over it; and one alone over it.
	half := entry("Big", `{"x":"`+strings.Repeat("x", bus.MaxPutBytes/2)+`"}`)
	huge := entry("Huge", `{"x":"`+strings.Repeat("h", bus.MaxPutBytes)+`"}`)
	if half.Size() > bus.MaxPutBytes || 2*half.Size() <= bus.MaxPutBytes || huge.Size() <= bus.MaxPutBytes {
		t.Fatalf("entry sizes %d and %d do not make the case", half.Size(), huge.Size())
	}
	for _, call := range [][]bus.Entry{{half, half}, {huge}} {
		size := 0
		for _, e := range call {
			size += e.Size()
		}
		inst := newBus(t)
		routed := inst.Route(t, `{"source":["bustest"]}`)
		res, err := inst.Putter.PutEvents(context.Background(), call)
		others := routedBesidesMarker(t, inst.Putter, routed)
		if f.RefusesOversizedCall {
			if err == nil || len(others) != 0 {
				t.Errorf("a call of %d entries, %d bytes: err %v, %d events routed; want it refused as a whole", len(call), size, err, len(others))
			}
			continue
		}
		if err != nil || len(res) != len(call) || slices.ContainsFunc(res, func(r bus.Result) bool { return r.Err() != nil }) {
			t.Errorf("RefusesOversizedCall is false, but a call of %d bytes was refused: %v %+v", size, err, res)
		}
	}
}

func testPublishSplits(t *testing.T, newBus NewBus, f Features) {
	inst := newBus(t)
	routed := inst.Route(t, `{"source":["bustest"]}`)
	p := &countingPutter{Putter: inst.Putter}
	// 25 small entries, then three of ~100 KB, and among them one over the limit alone,
	// which is never sent.
	var entries []bus.Entry
	for i := range 25 {
		entries = append(entries, entry("Small", fmt.Sprintf(`{"i":%d}`, i)))
	}
	big := `{"x":"` + strings.Repeat("b", 100_000) + `"}`
	entries = append(entries, entry("Big", big), entry("Huge", `{"x":"`+strings.Repeat("h", bus.MaxPutBytes)+`"}`), entry("Big", big), entry("Big", big))
	out := bus.Publish(context.Background(), p, entries)
	var ids []string
	for i, o := range out {
		if entries[i].DetailType == "Huge" {
			if !errors.Is(o.Err, bus.ErrEntryTooLarge) || o.EventID != "" {
				t.Errorf("the oversized entry: %+v, want ErrEntryTooLarge", o)
			}
			continue
		}
		if o.Err != nil || o.EventID == "" {
			t.Fatalf("entry %d: %+v", i, o)
		}
		ids = append(ids, o.EventID)
	}
	// 10 and 10 small ones; the last 5 small with two big ones (under 256 KB together);
	// the third big one.
	if p.calls != 4 {
		t.Errorf("%d calls, want 4", p.calls)
	}
	got := routed(len(ids))
	routedIDs := byID(got)
	for _, id := range ids {
		if _, ok := routedIDs[id]; !ok {
			t.Errorf("published event %s was not routed", id)
		}
	}
	if len(got) != len(ids) {
		t.Errorf("routed %d events, want the %d published", len(got), len(ids))
	}
}

func testPerEntryFailures(t *testing.T, newBus NewBus, f Features) {
	inst := newBus(t)
	routed := inst.Route(t, `{"source":["bustest"]}`)
	entries := []bus.Entry{
		{Source: "", DetailType: "T", Detail: `{}`},
		{Source: "bustest", DetailType: "", Detail: `{}`},
		{Source: "bustest", DetailType: "T", Detail: ""},
		{Source: "bustest", DetailType: "T", Detail: `{"unterminated":`},
		{Source: "bustest", DetailType: "Valid", Detail: `{"ok":true}`},
		{Source: "bustest", DetailType: "Array", Detail: `[1,2]`},
	}
	res := put(t, inst.Putter, entries...)
	for i, code := range []string{"InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail"} {
		var ee *bus.EntryError
		if !errors.As(res[i].Err(), &ee) || ee.Code != code || res[i].EventID != "" {
			t.Errorf("entry %d (%+v): %+v, want %s", i, entries[i], res[i], code)
		}
	}
	if res[4].Err() != nil || res[4].EventID == "" {
		t.Errorf("the valid entry among failures: %+v", res[4])
	}
	wantRouted := 1
	if f.RefusesNonObjectDetail {
		var ee *bus.EntryError
		if !errors.As(res[5].Err(), &ee) || ee.Code != "MalformedDetail" {
			t.Errorf("a detail that is not an object: %+v, want MalformedDetail", res[5])
		}
	} else {
		if res[5].Err() != nil {
			t.Errorf("RefusesNonObjectDetail is false, but a detail that is not an object was refused: %+v", res[5])
		}
		wantRouted = 2
	}
	others := routedBesidesMarker(t, inst.Putter, routed)
	if len(others) != wantRouted || byID(others)[res[4].EventID].DetailType != "Valid" {
		t.Errorf("routed %+v, want the valid entry (and the array detail when accepted)", others)
	}
}

func testPatternRouting(t *testing.T, newBus NewBus, f Features) {
	inst := newBus(t)
	// The template's kind of rule: source, detail-type and content filters on detail.
	routed := inst.Route(t, `{"source":["bustest"],"detail-type":[{"prefix":"Peer "}],`+
		`"detail":{"organization":[{"anything-but":"blocked"}],"changedFields":["Name"]}}`)
	arrays := inst.Route(t, `{"source":["bustest"],"detail":{"changes":{"field":["Name"]}}}`)
	cases := []struct {
		detailType, detail string
		match, arrayMatch  bool
	}{
		{"Peer Updated", `{"organization":"acme","changedFields":["Email","Name"]}`, true, false},
		{"Peer Created", `{"organization":"acme","changedFields":["Name"]}`, true, false},
		{"Role Updated", `{"organization":"acme","changedFields":["Name"]}`, false, false},    // detail-type
		{"Peer Updated", `{"organization":"blocked","changedFields":["Name"]}`, false, false}, // anything-but
		{"Peer Updated", `{"organization":"acme","changedFields":["Email"]}`, false, false},   // array without Name
		{"Peer Updated", `{"organization":"acme"}`, false, false},                             // field missing
		{"Role Updated", `{"changes":[{"field":"Name","old":"a","new":"b"}]}`, false, true},   // object in an array
	}
	var want []string
	wantArrays := 0
	for _, c := range cases {
		r := put(t, inst.Putter, entry(c.detailType, c.detail))[0]
		if r.Err() != nil {
			t.Fatalf("%s %s: %v", c.detailType, c.detail, r.Err())
		}
		if c.match {
			want = append(want, r.EventID)
		}
		if c.arrayMatch && f.MatchesObjectsInArrays {
			wantArrays++
		}
	}
	got := routed(len(want))
	gotIDs := make([]string, len(got))
	for i, e := range got {
		gotIDs[i] = e.ID
	}
	slices.Sort(gotIDs)
	slices.Sort(want)
	if !slices.Equal(gotIDs, want) {
		t.Errorf("routed %d events %v, want %d %v", len(got), gotIDs, len(want), want)
	}
	// Wait for the marker so a missing array match is not a slow one.
	marker := entry("Marker", `{"changes":{"field":"Name"}}`) // an object, not an array: every bus matches it
	if got := routedBesides(t, inst.Putter, arrays, marker); len(got) != wantArrays {
		t.Errorf("the pattern on an object in an array routed %d events, want %d (MatchesObjectsInArrays %v)", len(got), wantArrays, f.MatchesObjectsInArrays)
	}
}

// testConcurrentPublishers publishes from several goroutines at once through one
// Putter: every entry is accepted once and routed once.
func testConcurrentPublishers(t *testing.T, newBus NewBus, f Features) {
	inst := newBus(t)
	routed := inst.Route(t, `{"source":["bustest"]}`)
	const publishers, perPublisher = 4, 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]string{} // event id → entry key
	var failures []error
	for p := range publishers {
		wg.Go(func() {
			var entries []bus.Entry
			for i := range perPublisher {
				entries = append(entries, entry("Concurrent", fmt.Sprintf(`{"key":"%d-%d"}`, p, i)))
			}
			out := bus.Publish(context.Background(), inst.Putter, entries)
			mu.Lock()
			defer mu.Unlock()
			for i, o := range out {
				if o.Err != nil {
					failures = append(failures, o.Err)
					continue
				}
				ids[o.EventID] = entries[i].Detail
			}
		})
	}
	wg.Wait()
	const sent = publishers * perPublisher
	got := routed(sent)
	seen := map[string]int{}
	for _, e := range got {
		if key, ok := ids[e.ID]; !ok || !sameJSON([]byte(key), e.Detail) {
			t.Errorf("routed event %s is not one that was published as such: %s", e.ID, e.Detail)
		}
		seen[e.ID]++
	}
	duplicated := 0
	for _, n := range seen {
		duplicated += n - 1
	}
	lost := len(ids) - len(seen)
	t.Logf("%d published: %d accepted, %d failed, %d routed, %d duplicated, %d lost", sent, len(ids), len(failures), len(seen), duplicated, lost)
	if len(failures) != 0 || len(ids) != sent || lost != 0 || duplicated != 0 {
		t.Errorf("want all %d accepted and routed once; failures: %v", sent, failures)
	}
}
