package parse

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/corpus"
)

// run runs parse with opts on stdin and returns its exit status and streams.
func run(stdin string, opts Options) (int, string, string) {
	var out, errOut bytes.Buffer
	opts.IO = cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	code := Run(context.Background(), &opts)
	return code, out.String(), errOut.String()
}

func TestParseCorpusFromFileAndStdin(t *testing.T) {
	dir := t.TempDir()
	for _, c := range corpus.Load(t) {
		file := filepath.Join(dir, c.Name)
		if err := os.WriteFile(file, c.Body, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []Options{{File: file}, {File: "-"}, {Source: "acme.peerdom"}} {
			code, out, errOut := run(string(c.Body), opts)
			if code != 0 || errOut != "" {
				t.Fatalf("%+v: exit %d, stderr %q", opts, code, errOut)
			}
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detailType"`
				Detail     json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal([]byte(out), &ev); err != nil {
				t.Fatalf("%+v: output is not one JSON object: %v\n%s", opts, err, out)
			}
			wantSource := "peerdom"
			if opts.Source != "" {
				wantSource = opts.Source
			}
			if ev.Source != wantSource || ev.DetailType != c.DetailType {
				t.Errorf("%s %+v: source %q detailType %q", c.Name, opts, ev.Source, ev.DetailType)
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
		code, out, errOut := run(tt.stdin, Options{})
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
	code, out, errOut := run(in, Options{JSONL: true})
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
	if code, _, _ := run(`{"text":"Role was created"}`+"\n", Options{JSONL: true}); code != 0 {
		t.Errorf("all-good jsonl: exit %d", code)
	}
}

func TestParseMissingFile(t *testing.T) {
	if code, _, errOut := run("", Options{File: filepath.Join(t.TempDir(), "missing.json")}); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
}

// TestParseFlags: flags may follow the FILE; more than one FILE is a usage error.
func TestParseFlags(t *testing.T) {
	var errOut bytes.Buffer
	ios := cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &errOut}
	opts, err := Parse(ios, []string{"f.json", "--jsonl", "--source", "acme"})
	if err != nil || opts.File != "f.json" || !opts.JSONL || opts.Source != "acme" {
		t.Fatalf("Parse: %+v %v", opts, err)
	}
	if _, err := Parse(ios, []string{"a", "b"}); cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), "at most one FILE") {
		t.Errorf("two files: status %d, stderr %q", cmdutil.Status(err), errOut.String())
	}
}
