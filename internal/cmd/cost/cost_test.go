package cost

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/repo"
)

// The bill's format is held by cmd/peerbridge's TestCostDoc (docs/cost.md is what the
// command prints); these run the command on Options.
func run(t *testing.T, opts Options) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.IO = cmdutil.IOStreams{Out: &out, ErrOut: &errOut}
	code := Run(context.Background(), &opts)
	return code, out.String(), errOut.String()
}

func TestRun(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(root, "template.yaml")
	code, out, errOut := run(t, Options{Template: tpl, WebhooksPerMonth: 2000})
	if code != 0 || !strings.Contains(out, "at 2,000 webhooks a month") || errOut != "" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = run(t, Options{Template: tpl, WebhooksPerMonth: 2000, JSON: true, Params: map[string]string{"Endpoint": "FunctionUrl"}})
	var bill struct {
		Total float64 `json:"totalUsd"`
	}
	if err := json.Unmarshal([]byte(out), &bill); code != 0 || err != nil || bill.Total <= 0 {
		t.Errorf("--json: exit %d, %v: %s", code, err, out)
	}
	if code, _, errOut := run(t, Options{Template: filepath.Join(t.TempDir(), "none.yaml")}); code != 2 || !strings.HasPrefix(errOut, "peerbridge cost: ") {
		t.Errorf("no template: exit %d, %q", code, errOut)
	}
}

func TestParse(t *testing.T) {
	opts, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}, []string{"--param", "A=1", "--webhooks-per-month", "5", "--json"})
	if err != nil || opts.Params["A"] != "1" || opts.WebhooksPerMonth != 5 || !opts.JSON || opts.Template != "template.yaml" {
		t.Fatalf("%+v %v", opts, err)
	}
	var errOut bytes.Buffer
	if _, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: &errOut}, []string{"--webhooks-per-month", "-1"}); cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), "must be 0 or more") {
		t.Errorf("-1: %d %q", cmdutil.Status(err), errOut.String())
	}
}
