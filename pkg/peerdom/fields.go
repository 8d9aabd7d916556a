package peerdom

import (
	"encoding/json"
	"slices"
	"strings"
)

// Field is one `**Name:** value` line of a message that is not a change.
type Field struct {
	Name  string
	Value string
}

// Fields are a message's fields in the order the message gives them. Parse files each
// name once (a name given again keeps its first place and takes the later value); Get
// and Lookup return the first field of a name. Their JSON is an object, keys in the
// order encoding/json gives a map's (docs/contract.md).
//
// A slice rather than a map: the worker parses every webhook, and building a map was
// a quarter of a parse. Use Get or Lookup to read a field by name.
type Fields []Field

// Get returns the value of the field with this name, or "" when there is none. Names
// compare exactly, as the JSON keys do.
func (f Fields) Get(name string) string {
	v, _ := f.Lookup(name)
	return v
}

// Lookup returns the value of the field with this name and whether there is one.
func (f Fields) Lookup(name string) (string, bool) {
	for i := range f {
		if f[i].Name == name {
			return f[i].Value, true
		}
	}
	return "", false
}

// Map returns the fields as a new map from name to value.
func (f Fields) Map() map[string]string {
	m := make(map[string]string, len(f))
	for _, field := range f {
		m[field.Name] = field.Value
	}
	return m
}

// MarshalJSON writes the fields as a JSON object, Map's: keys sorted, a name given
// twice with its last value; nil is {}.
func (f Fields) MarshalJSON() ([]byte, error) { return marshalText(f.Map()) }

// UnmarshalJSON reads a JSON object (null leaves the fields as they are, as for a map);
// as a JSON object has no order, the fields come sorted by name.
func (f *Fields) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	fields := make(Fields, 0, len(m))
	for name, value := range m {
		fields = append(fields, Field{name, value})
	}
	slices.SortFunc(fields, compareFieldNames)
	*f = fields
	return nil
}

func compareFieldNames(a, b Field) int { return strings.Compare(a.Name, b.Name) }
