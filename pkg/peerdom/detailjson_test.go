package peerdom

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/corpus"
)

// The reference the hand-written encoder (AppendJSON) is held to: Detail and Change as
// encoding/json encoded them before it, kept here verbatim.

// referenceDetail has Detail's fields and tags (TestReferenceDetailInStep keeps the two
// in step) with the changes as referenceChange.
type referenceDetail struct {
	ID            string            `json:"id,omitempty"`
	ReceivedAt    time.Time         `json:"receivedAt,omitzero"`
	Entity        Entity            `json:"entity,omitempty"`
	Action        Action            `json:"action,omitempty"`
	Name          string            `json:"name,omitempty"`
	URL           string            `json:"url,omitempty"`
	Organization  string            `json:"organization,omitempty"`
	EntityID      string            `json:"entityId,omitempty"`
	Author        *Author           `json:"author,omitempty"`
	Fields        map[string]string `json:"fields"`
	Changes       []referenceChange `json:"changes"`
	ChangedFields []string          `json:"changedFields"`
	Text          string            `json:"text"`
}

type referenceChange Change

type referenceScalarChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

type referenceListChange struct {
	Field   string   `json:"field"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

func (c referenceChange) MarshalJSON() ([]byte, error) {
	if c.IsList {
		return json.Marshal(referenceListChange{Field: c.Field, Added: referenceNonNil(c.Added), Removed: referenceNonNil(c.Removed)})
	}
	return json.Marshal(referenceScalarChange{Field: c.Field, Old: c.Old, New: c.New})
}

func referenceNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// referenceMarshal is what Detail.MarshalJSON returned before AppendJSON.
func referenceMarshal(d Detail) ([]byte, error) {
	r := referenceDetail{ID: d.ID, ReceivedAt: d.ReceivedAt, Entity: d.Entity, Action: d.Action, Name: d.Name,
		URL: d.URL, Organization: d.Organization, EntityID: d.EntityID, Author: d.Author, Fields: d.Fields.Map(),
		Changes: []referenceChange{}, ChangedFields: d.ChangedFields, Text: d.Text}
	for _, c := range d.Changes {
		r.Changes = append(r.Changes, referenceChange(c))
	}
	if r.ChangedFields == nil {
		r.ChangedFields = []string{}
	}
	return json.Marshal(r)
}

// TestReferenceDetailInStep fails when Detail gains, loses or retags a field: the
// encoder and its reference must then both be updated.
func TestReferenceDetailInStep(t *testing.T) {
	dt, rt := reflect.TypeFor[Detail](), reflect.TypeFor[referenceDetail]()
	if dt.NumField() != rt.NumField() {
		t.Fatalf("Detail has %d fields, the reference %d", dt.NumField(), rt.NumField())
	}
	for i := range dt.NumField() {
		df, rf := dt.Field(i), rt.Field(i)
		sameType := df.Type == rf.Type || (df.Name == "Changes" && df.Type == reflect.TypeFor[[]Change]()) ||
			(df.Name == "Fields" && df.Type == reflect.TypeFor[Fields]()) // the reference keeps them in a map
		if df.Name != rf.Name || df.Tag != rf.Tag || !sameType {
			t.Errorf("Detail field %d is %s %s %q, the reference's %s %s %q", i, df.Name, df.Type, df.Tag, rf.Name, rf.Type, rf.Tag)
		}
	}
}

// checkDetailJSON compares every way of encoding d with the reference: MarshalJSON,
// AppendJSON after other bytes, json.Marshal of the detail and of each change.
func checkDetailJSON(t *testing.T, d Detail) {
	t.Helper()
	want, wantErr := referenceMarshal(d)
	got, err := d.MarshalJSON()
	if !sameError(err, wantErr) || !bytes.Equal(got, want) {
		t.Fatalf("MarshalJSON of %#v\n got %s (%v)\nwant %s (%v)", d, got, err, want, wantErr)
	}
	prefix := []byte(`prefix{`)
	appended, err := d.AppendJSON(prefix)
	if !sameError(err, wantErr) || !bytes.Equal(appended, append(prefix, want...)) {
		t.Fatalf("AppendJSON after %s: %s (%v)", prefix, appended, err)
	}
	// json.Marshal checks MarshalJSON's output is valid JSON and compacts it.
	got, err = json.Marshal(d)
	if wantErr != nil {
		wantErr = errors.New("json: error calling MarshalJSON for type peerdom.Detail: " + wantErr.Error())
	}
	if !sameError(err, wantErr) || !bytes.Equal(got, want) {
		t.Fatalf("json.Marshal of %#v\n got %s (%v)\nwant %s (%v)", d, got, err, want, wantErr)
	}
	for _, c := range d.Changes {
		got, err := c.MarshalJSON()
		want, wantErr := referenceChange(c).MarshalJSON()
		if !sameError(err, wantErr) || !bytes.Equal(got, want) {
			t.Fatalf("Change.MarshalJSON of %#v\n got %s\nwant %s", c, got, want)
		}
	}
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

// TestDetailJSONMatchesEncodingJSON checks the encoder on the details of the corpus and
// of the parser's rule table (parsed and expected), and on details made to reach every
// branch: omitted and present keys, nil and empty collections, key order, each kind of
// escaping, and times encoding/json refuses.
func TestDetailJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	var details []Detail
	for _, c := range corpus.Load(t) {
		d := Parse(c.Text)
		details = append(details, d)
		d.ID, d.ReceivedAt = "Jk3sZhVuIAMEbXw=", at
		details = append(details, d)
	}
	for _, tt := range parseRuleTests() {
		want := tt.want
		want.Text = tt.text
		details = append(details, Parse(tt.text), want)
	}
	tricky := "<a href=\"x\">&amp;</a> \\ \u2028\u2029 \x00\x01\x08\x0c\x1f\x7f \t\r\n é → 🎉 \xff\xfe bad \xe2\x82 \xed\xa0\x80"
	details = append(details,
		Detail{},
		Detail{Fields: Fields{}, Changes: []Change{}, ChangedFields: []string{}},
		Detail{ID: "a", Text: tricky},
		Detail{ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Detail{ReceivedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}, // not zero: one nanosecond in
		Detail{ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Text: "year too large"},
		Detail{ReceivedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		Detail{ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))},
		Detail{ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -23*3600-59*60))},
		Detail{Entity: "role", Action: "x<y>", Name: tricky, URL: tricky, Organization: tricky, EntityID: tricky},
		Detail{Author: &Author{}},
		Detail{Author: &Author{Name: tricky}},
		Detail{Author: &Author{Email: tricky}},
		Detail{Author: &Author{Name: "n", Email: "e"}, Entity: EntityPeer},
		Detail{Fields: fieldsOf("b", "1", "a", "2", "B", "3", "é", "4", "", "5", "a\x00", tricky, "\xff", "6", "<", "&")},
		Detail{Fields: fieldsOf("k17", "", "k16", "", "k15", "", "k14", "", "k13", "", "k12", "", "k11", "", "k10", "", "k09", "",
			"k08", "", "k07", "", "k06", "", "k05", "", "k04", "", "k03", "", "k02", "", "k01", "", "b", "1", "a", "2")},
		Detail{Fields: fieldsOf("a", "1", "b", "2", "c", "3")}, // already sorted
		Detail{Changes: []Change{{Field: tricky, Old: tricky, New: ""}, {Field: "L", IsList: true},
			{Field: "L2", IsList: true, Added: []string{}, Removed: []string{tricky, ""}}, {Field: "S", Old: "x", Added: []string{"ignored"}}},
			ChangedFields: []string{tricky, "L", "L2", "S"}},
	)
	for _, d := range details {
		checkDetailJSON(t, d)
	}
}

// FuzzDetailJSON compares the encoder with the reference on details parsed from any text
// and on details whose every string is fuzzed, with any time.
// Seeds are in testdata/fuzz/FuzzDetailJSON; run with
// `go test -fuzz FuzzDetailJSON ./pkg/peerdom`.
func FuzzDetailJSON(f *testing.F) {
	f.Add("**[Role](https://app.peerdom.org/acme/roles/ops)** was updated\n\n**Author:** Jane Doe (jane@example.com)\n\n**Skills:** [+] Go [-] Java",
		"<b>", "\u2028\xff", int64(1798711200), int64(5), 3600, uint(0xff))
	f.Fuzz(func(t *testing.T, text, a, b string, sec, nsec int64, offset int, flags uint) {
		checkDetailJSON(t, Parse(text))
		var at time.Time
		if flags&1 != 0 {
			at = time.Unix(sec, nsec).In(time.FixedZone("", offset))
		}
		d := Detail{ID: a, ReceivedAt: at, Entity: Entity(b), Action: Action(a), Name: b, URL: a + b,
			Organization: b + a, EntityID: a, Text: text}
		if flags&2 != 0 {
			d.Author = &Author{Name: a, Email: b}
		}
		if flags&4 != 0 {
			d.Fields = fieldsOf(a, b, b, a, text, "", strings.ToUpper(a), text)
		}
		if flags&8 != 0 {
			var removed []string
			if flags&16 != 0 {
				removed = []string{}
			}
			d.Changes = []Change{{Field: a, Old: b, New: text}, {Field: b, IsList: true, Added: []string{a, text}, Removed: removed}}
		}
		if flags&32 != 0 {
			d.ChangedFields = []string{a, b}
		}
		checkDetailJSON(t, d)
	})
}

// TestDetailJSONAllocations holds the encoder to its point: with room in the buffer,
// AppendJSON allocates nothing, and MarshalJSON allocates its result once.
func TestDetailJSONAllocations(t *testing.T) {
	buf := make([]byte, 0, 64<<10)
	for _, c := range corpus.Load(t) {
		d := Parse(c.Text)
		d.ID, d.ReceivedAt = "Jk3sZhVuIAMEbXw=", time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		if n := testing.AllocsPerRun(20, func() { _, _ = d.AppendJSON(buf[:0]) }); n != 0 {
			t.Errorf("%s: AppendJSON made %v allocations", c.Name, n)
		}
		if n := testing.AllocsPerRun(20, func() { _, _ = d.MarshalJSON() }); n > 1 {
			t.Errorf("%s: MarshalJSON made %v allocations, want 1", c.Name, n)
		}
	}
}
