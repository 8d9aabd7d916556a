package peerdom

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/corpus"
)

var update = flag.Bool("update", false, "rewrite testdata/detail-json.golden from the current encoder")

const goldenFile = "testdata/detail-json.golden"

// namedDetail is a detail whose JSON the golden file holds.
type namedDetail struct {
	name   string
	detail Detail
}

// goldenDetails are the details of the corpus and of the parser's rule table (parsed and
// expected), and details made to reach every part of the JSON: omitted and present keys,
// nil and empty collections, key order, each kind of escaping, and times JSON refuses.
func goldenDetails(t *testing.T) []namedDetail {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	var details []namedDetail
	for _, c := range corpus.Load(t) {
		d := Parse(c.Text)
		details = append(details, namedDetail{"corpus " + c.Name, d})
		d.ID, d.ReceivedAt = "Jk3sZhVuIAMEbXw=", at
		details = append(details, namedDetail{"corpus " + c.Name + " delivered", d})
	}
	for _, tt := range parseRuleTests() {
		want := tt.want
		want.Text = tt.text
		details = append(details, namedDetail{"rule " + tt.name, Parse(tt.text)}, namedDetail{"rule " + tt.name + " expected", want})
	}
	tricky := "<a href=\"x\">&amp;</a> \\ \u2028\u2029 \x00\x01\x08\x0c\x1f\x7f \t\r\n é → 🎉 \xff\xfe bad \xe2\x82 \xed\xa0\x80"
	for i, d := range []Detail{
		{},
		{Fields: Fields{}, Changes: []Change{}, ChangedFields: []string{}},
		{ID: "a", Text: tricky},
		{ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{ReceivedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}, // not zero: one nanosecond in
		{ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Text: "year too large"},
		{ReceivedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))},
		{ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -23*3600-59*60))},
		{Entity: "role", Action: "x<y>", Name: tricky, URL: tricky, Organization: tricky, EntityID: tricky},
		{Author: &Author{}},
		{Author: &Author{Name: tricky}},
		{Author: &Author{Email: tricky}},
		{Author: &Author{Name: "n", Email: "e"}, Entity: EntityPeer},
		{Fields: fieldsOf("b", "1", "a", "2", "B", "3", "é", "4", "", "5", "a\x00", tricky, "\xff", "6", "<", "&")},
		{Fields: fieldsOf("k17", "", "k16", "", "k15", "", "k14", "", "k13", "", "k12", "", "k11", "", "k10", "", "k09", "",
			"k08", "", "k07", "", "k06", "", "k05", "", "k04", "", "k03", "", "k02", "", "k01", "", "b", "1", "a", "2")},
		{Fields: fieldsOf("a", "1", "b", "2", "c", "3")}, // already sorted
		{Changes: []Change{{Field: tricky, Old: tricky, New: ""}, {Field: "L", IsList: true},
			{Field: "L2", IsList: true, Added: []string{}, Removed: []string{tricky, ""}}, {Field: "S", Old: "x", Added: []string{"ignored"}}},
			ChangedFields: []string{tricky, "L", "L2", "S"}},
	} {
		details = append(details, namedDetail{fmt.Sprintf("made %d", i), d})
	}
	return details
}

// goldenEntry is a line of the golden file: a detail's JSON, or the error encoding it gave.
type goldenEntry struct {
	Name  string `json:"name"`
	JSON  string `json:"json,omitempty"`
	Error string `json:"error,omitempty"`
}

// encodeGolden is the detail as the worker puts it on the bus: Detail.MarshalJSON, which
// does not HTML-escape <, > and & (until issue 22 the file held json.Marshal's bytes,
// \u003c for <; only those bytes changed).
func encodeGolden(d namedDetail) goldenEntry {
	b, err := d.detail.MarshalJSON()
	if err != nil {
		return goldenEntry{Name: d.name, Error: err.Error()}
	}
	return goldenEntry{Name: d.name, JSON: string(b)}
}

// TestDetailJSONGolden holds Detail.MarshalJSON (what the worker publishes), and
// json.Marshal of a detail, to the bytes the golden file recorded (from the encoder the
// contract was first published with, HTML escapes left out since issue 22), for every
// corpus case, rule case and made detail.
// `go test -run TestDetailJSONGolden -update` rewrites the file when a case is added.
func TestDetailJSONGolden(t *testing.T) {
	details := goldenDetails(t)
	if *update {
		f, err := os.Create(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(f)
		for _, d := range details {
			if err := enc.Encode(encodeGolden(d)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]goldenEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e goldenEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		want[e.Name] = e
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		w, ok := want[d.name]
		if !ok {
			t.Errorf("%s: not in %s (run with -update)", d.name, goldenFile)
			continue
		}
		if got := encodeGolden(d); got != w {
			t.Errorf("%s:\n got %s %s\nwant %s %s", d.name, got.JSON, got.Error, w.JSON, w.Error)
		}
		// json.Marshal (a user's program encoding a Detail) gives the same JSON, with
		// <, > and & HTML-escaped as encoding/json does by default: the same value.
		var escaped bytes.Buffer
		json.HTMLEscape(&escaped, []byte(w.JSON))
		if viaMarshal, err := json.Marshal(d.detail); (err != nil) != (w.Error != "") || (err == nil && string(viaMarshal) != escaped.String()) {
			t.Errorf("%s: json.Marshal gives %s (%v), want %s", d.name, viaMarshal, err, escaped.String())
		}
	}
}
