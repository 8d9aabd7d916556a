// Package corpus loads the webhook examples of the contract, in
// pkg/peerdom/testdata/corpus: each a webhook body and the event it must become.
package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
)

// Case is one example: the webhook body as sent and the expected detail-type and detail
// (without id, receivedAt and text, which depend on the delivery and the input).
type Case struct {
	Name       string
	Body       []byte // the "input" object as JSON
	Text       string
	DetailType string
	Detail     map[string]any
}

// Path is the corpus folder inside the repository.
const Path = "pkg/peerdom/testdata/corpus"

// Dir is the corpus folder: Path in the repository holding the working directory.
func Dir() (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", fmt.Errorf("corpus: %w", err)
	}
	return filepath.Join(root, Path), nil
}

// UpstreamEnv names a directory the corpus is copied from, when a maintainer keeps one
// elsewhere: TestCopyMatchesUpstream compares the copy with it.
const UpstreamEnv = "PEERBRIDGE_CORPUS_UPSTREAM"

// Load reads every *.json case of the corpus, sorted by file name. It fails the test
// when the corpus is missing or empty: the contract is not tested without it.
func Load(tb testing.TB) []Case {
	tb.Helper()
	dir, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("corpus: no *.json cases in %s", dir)
	}
	sort.Strings(files)
	cases := make([]Case, 0, len(files))
	for _, f := range files {
		c, err := read(f)
		if err != nil {
			tb.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

func read(file string) (Case, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Case{}, err
	}
	var raw struct {
		Input  json.RawMessage `json:"input"`
		Expect struct {
			DetailType string         `json:"detailType"`
			Detail     map[string]any `json:"detail"`
		} `json:"expect"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Case{}, fmt.Errorf("corpus %s: %w", file, err)
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw.Input, &in); err != nil {
		return Case{}, fmt.Errorf("corpus %s: input: %w", file, err)
	}
	return Case{
		Name:       filepath.Base(file),
		Body:       raw.Input,
		Text:       in.Text,
		DetailType: raw.Expect.DetailType,
		Detail:     raw.Expect.Detail,
	}, nil
}

// Comparable turns a detail's JSON into the form the corpus expects: a generic map
// without id, receivedAt and text. It also returns the text.
func Comparable(detailJSON []byte) (map[string]any, string, error) {
	var m map[string]any
	if err := json.Unmarshal(detailJSON, &m); err != nil {
		return nil, "", err
	}
	text, _ := m["text"].(string)
	delete(m, "id")
	delete(m, "receivedAt")
	delete(m, "text")
	return m, text, nil
}

// Check reports on tb how an event's detail JSON differs from the case's expectation:
// the whole detail but id and receivedAt must be as expected, and text the input.
func (c Case) Check(tb testing.TB, detailJSON []byte) {
	tb.Helper()
	got, text, err := Comparable(detailJSON)
	if err != nil {
		tb.Fatalf("%s: detail is not a JSON object: %v", c.Name, err)
	}
	if text != c.Text {
		tb.Errorf("%s: text = %q, want the input %q", c.Name, text, c.Text)
	}
	if !reflect.DeepEqual(got, c.Detail) {
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		wantJSON, _ := json.MarshalIndent(c.Detail, "", "  ")
		tb.Errorf("%s: detail mismatch\ngot:  %s\nwant: %s", c.Name, gotJSON, wantJSON)
	}
}
