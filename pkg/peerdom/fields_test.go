package peerdom

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestFieldsGetLookupMap(t *testing.T) {
	fields := Fields{{"Name", "Ops"}, {"Purpose", ""}}
	if got := fields.Get("Name"); got != "Ops" {
		t.Errorf("Get(Name) = %q, want Ops", got)
	}
	if v, ok := fields.Lookup("Purpose"); v != "" || !ok {
		t.Errorf("Lookup(Purpose) = %q, %v, want empty and present", v, ok)
	}
	if v, ok := fields.Lookup("name"); v != "" || ok {
		t.Errorf("Lookup(name) = %q, %v, want absent: names compare exactly", v, ok)
	}
	if got, want := fields.Map(), map[string]string{"Name": "Ops", "Purpose": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("Map() = %v, want %v", got, want)
	}
	var none Fields
	if none.Get("Name") != "" || len(none.Map()) != 0 {
		t.Error("nil fields should read as empty")
	}
}

func TestFieldsJSON(t *testing.T) {
	for _, tt := range []struct {
		fields Fields
		want   string
	}{
		{nil, `{}`},
		{Fields{}, `{}`},
		{Fields{{"Map", "M"}, {"B", "<&>"}, {"a", "x"}}, `{"B":"\u003c\u0026\u003e","Map":"M","a":"x"}`},
	} {
		b, err := json.Marshal(tt.fields)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.fields, b, err, tt.want)
		}
		// encoding/json on the map gives the same bytes.
		if m, _ := json.Marshal(tt.fields.Map()); string(m) != tt.want {
			t.Errorf("the map of %v encodes as %s, the fields as %s", tt.fields, m, b)
		}
	}

	var back Fields
	if err := json.Unmarshal([]byte(`{"b":"2","a":"1","a":"3"}`), &back); err != nil {
		t.Fatal(err)
	}
	if want := (Fields{{"a", "3"}, {"b", "2"}}); !reflect.DeepEqual(back, want) {
		t.Errorf("Unmarshal = %v, want %v (sorted, the last of a repeated key)", back, want)
	}
	if err := json.Unmarshal([]byte(`null`), &back); err != nil || len(back) != 2 {
		t.Errorf("Unmarshal(null) = %v, %v; want the fields left as they were", back, err)
	}
	for _, bad := range []string{`[]`, `{"a":1}`, `"x"`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

// TestParseRepeatedFields checks that a name given again keeps its first place and takes
// the later value, with few fields and with enough that the parser indexes them.
func TestParseRepeatedFields(t *testing.T) {
	for _, n := range []int{2, 7, 15, 16, 17, 40} {
		var text strings.Builder
		text.WriteString("**[Role](https://app.peerdom.org/acme/roles/ops)** was created\n\n")
		var want Fields
		for i := range n {
			fmt.Fprintf(&text, "**F%d:** v%d\n", i, i)
			want = append(want, Field{fmt.Sprintf("F%d", i), fmt.Sprintf("v%d", i)})
		}
		for i := 0; i < n; i += 3 {
			fmt.Fprintf(&text, "**F%d:** again %d\n", i, i)
			want[i].Value = fmt.Sprintf("again %d", i)
		}
		text.WriteString("**New:** last\n")
		want = append(want, Field{"New", "last"})

		if got := Parse(text.String()).Fields; !reflect.DeepEqual(got, want) {
			t.Errorf("%d fields:\n got %v\nwant %v", n, got, want)
		}
	}
}
