package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/corpus"
)

// runCLI runs the command line in-process and returns its exit status and streams.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestParseCorpusFromFileAndStdin(t *testing.T) {
	dir := t.TempDir()
	for _, c := range corpus.Load(t) {
		file := filepath.Join(dir, c.Name)
		if err := os.WriteFile(file, c.Body, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"parse", file}, {"parse", "-"}, {"parse", "--source", "acme.peerdom"}} {
			code, out, errOut := runCLI(t, string(c.Body), args...)
			if code != 0 || errOut != "" {
				t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
			}
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detailType"`
				Detail     json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal([]byte(out), &ev); err != nil {
				t.Fatalf("%v: output is not one JSON object: %v\n%s", args, err, out)
			}
			wantSource := "peerdom"
			if args[1] == "--source" {
				wantSource = "acme.peerdom"
			}
			if ev.Source != wantSource || ev.DetailType != c.DetailType {
				t.Errorf("%s %v: source %q detailType %q", c.Name, args, ev.Source, ev.DetailType)
			}
			c.Check(t, ev.Detail)
		}
	}
}

func TestParseBadBody(t *testing.T) {
	tests := []struct{ stdin, want string }{
		{`{"text": 5}`, `"text" must be a string`},
		{`[1]`, "must be a JSON object"},
		{`{"text": ""}`, `"text" is empty`},
		{`{`, "not valid JSON"},
		{`{"text":"` + strings.Repeat("a", 100*1024) + `"}`, "larger than 100 KiB"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.stdin, "parse")
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("stdin %.30q: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %q", tt.stdin, code, out, errOut, tt.want)
		}
	}
}

func TestParseJSONLReportsBadLinesAndGoesOn(t *testing.T) {
	in := `{"text":"Role was created\n**Name:** Ops"}` + "\n" +
		`{"text": 5}` + "\n\n" +
		`not json` + "\n" +
		`{"text":"Peer was deleted"}` // no final newline
	code, out, errOut := runCLI(t, in, "parse", "--jsonl")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"Role Created"`) || !strings.Contains(lines[1], `"Peer Deleted"`) {
		t.Errorf("stdout lines = %q", lines)
	}
	if !strings.Contains(errOut, "stdin:2:") || !strings.Contains(errOut, "stdin:4:") || strings.Count(errOut, "\n") != 2 {
		t.Errorf("stderr = %q, want lines 2 and 4 reported", errOut)
	}
	if code, _, _ := runCLI(t, `{"text":"Role was created"}`+"\n", "parse", "--jsonl"); code != 0 {
		t.Errorf("all-good jsonl: exit %d", code)
	}
}

func TestParseUsageErrors(t *testing.T) {
	if code, _, errOut := runCLI(t, "", "parse", filepath.Join(t.TempDir(), "missing.json")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "parse", "a", "b"); code != 2 {
		t.Errorf("two files: exit %d", code)
	}
	if code, _, errOut := runCLI(t, "", "nope"); code != 2 || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}
