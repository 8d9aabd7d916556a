package peerdomapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// decodeKeepingExtra decodes an object into v (a pointer to a struct type without
// methods, so json does not recurse into ours) and returns the keys v has no field for.
func decodeKeepingExtra(data []byte, v any) (map[string]json.RawMessage, error) {
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	known := jsonNames(reflect.TypeOf(v).Elem())
	var extra map[string]json.RawMessage
	for k, raw := range all {
		if !known[k] {
			if extra == nil {
				extra = map[string]json.RawMessage{}
			}
			extra[k] = raw
		}
	}
	return extra, nil
}

// encodeWithExtra encodes v (a struct without methods) and adds the extra keys it does
// not have itself.
func encodeWithExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	known := jsonNames(reflect.TypeOf(v))
	for k, raw := range extra {
		if _, set := all[k]; !set && !known[k] {
			all[k] = raw
		}
	}
	return json.Marshal(all)
}

var jsonNamesCache sync.Map // reflect.Type → map[string]bool

// jsonNames are the JSON keys of a struct type's fields.
func jsonNames(t reflect.Type) map[string]bool {
	if m, ok := jsonNamesCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	jsonNamesCache.Store(t, m)
	return m
}
