package peerdom

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks the parser's invariants on any text: it never panics, keeps the text
// unchanged, lists exactly the fields of its changes in changedFields, reports nothing
// but the text for an unrecognized message, and gives JSON that decodes back.
// Seeds are in testdata/fuzz/FuzzParse; run with `go test -fuzz FuzzParse ./pkg/peerdom`.
func FuzzParse(f *testing.F) {
	f.Add("**[Role](https://app.peerdom.org/acme/roles/ops)** was updated\n\n**Author:** Jane Doe (jane@example.com)\n\n**Skills:** [+] Go [-] Java")
	f.Fuzz(func(t *testing.T, text string) {
		d := Parse(text)
		if d.Text != text {
			t.Fatalf("text changed: %q -> %q", text, d.Text)
		}
		if len(d.ChangedFields) != len(d.Changes) {
			t.Fatalf("changedFields %q for %d changes", d.ChangedFields, len(d.Changes))
		}
		for i, c := range d.Changes {
			if d.ChangedFields[i] != c.Field {
				t.Fatalf("changedFields[%d] = %q, change field %q", i, d.ChangedFields[i], c.Field)
			}
		}
		if d.Action != ActionUpdated && len(d.Changes) > 0 {
			t.Fatalf("%s message with changes", d.Action)
		}
		if !d.Recognized() && (d.Entity != "" || d.Action != "" || len(d.Fields) > 0 || len(d.Changes) > 0 || d.Author != nil || d.URL != "") {
			t.Fatalf("unrecognized message carries parsed values: %+v", d)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := DecodeDetail(b)
		if err != nil {
			t.Fatalf("decode own JSON: %v\n%s", err, b)
		}
		// JSON carries text losslessly when it is UTF-8; invalid bytes become U+FFFD.
		if utf8.ValidString(text) && back.Text != text {
			t.Fatalf("text changed in a JSON round trip: %q", back.Text)
		}
	})
}
