package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Keys are the top-level keys of one JSON log line, in order, repeats included (a map
// would hide a key logged twice).
func Keys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object: %q", line)
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// CheckOneKey returns an error naming each line of logs (JSON lines) in which key is
// missing or repeated.
func CheckOneKey(logs []byte, key string) error {
	var errs []error
	for _, line := range bytes.Split(bytes.TrimSpace(logs), []byte("\n")) {
		keys, err := Keys(line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n := countOf(keys, key); n != 1 {
			errs = append(errs, fmt.Errorf("%q %d times in %s", key, n, line))
		}
	}
	return errors.Join(errs...)
}

func countOf(keys []string, key string) int {
	n := 0
	for _, k := range keys {
		if k == key {
			n++
		}
	}
	return n
}
