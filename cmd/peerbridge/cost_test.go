package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
)

// typicalOrg are the parameters of a typical organization's stack: the three actions
// deployed, the function URL endpoint.
var typicalOrg = []string{"--param", "Endpoint=FunctionUrl", "--param", "PeerdomApiKeyParameterName=peerdom-api-key",
	"--param", "OnboardingRoleIds=7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "--param", `RoleDefaults={"Purpose":"To be defined"}`}

func runCostCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"cost", "--template", filepath.Join(root, "template.yaml")}, args...), nil, &out, &errb)
	return out.String(), errb.String(), code
}

func TestCostPrintsTheBill(t *testing.T) {
	out, errOut, code := runCostCmd(t, "--webhooks-per-month", "10000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"at 10,000 webhooks a month", "IngestFunction requests", "10,000 requests", "total at list prices", "total after free tiers", "free tier"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bill lacks %q:\n%s", want, out)
		}
	}
	// The JSON bill: its total is the sum of its lines, and more webhooks cost more.
	bill := func(n string, extra ...string) (total, after float64, lines int) {
		out, errOut, code := runCostCmd(t, append([]string{"--json", "--webhooks-per-month", n}, extra...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var b struct {
			Lines []struct {
				Cost float64 `json:"usd"`
			} `json:"lines"`
			Total float64 `json:"totalUsd"`
			After float64 `json:"totalAfterFreeTiersUsd"`
		}
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		sum := 0.0
		for _, l := range b.Lines {
			sum += l.Cost
		}
		if math.Abs(sum-b.Total) > 1e-9 {
			t.Errorf("total %.6f is not the sum of the lines %.6f", b.Total, sum)
		}
		return b.Total, b.After, len(b.Lines)
	}
	small, _, _ := bill("1000")
	big, _, _ := bill("1000000")
	if !(big > small) {
		t.Errorf("1M webhooks cost %.4f, 1k %.4f", big, small)
	}
	_, _, plain := bill("10000")
	_, _, withActions := bill("10000", typicalOrg...)
	if withActions <= plain {
		t.Errorf("with the actions deployed the bill has %d lines, without %d", withActions, plain)
	}
}

func TestCostRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--param", "NoSuchParameter=1"},
		{"--webhooks-per-month", "-1"},
		{"--webhooks-per-month", "many"},
		{"extra-argument"},
	} {
		_, errOut, code := runCostCmd(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

// TestCostHidesNoEchoParameters: a parameter the template marks NoEcho is never printed
// (template.yaml has none now; a copy of it declares one).
func TestCostHidesNoEchoParameters(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	withSecret := strings.Replace(string(b), "\nParameters:\n", "\nParameters:\n  SecretThing:\n    Type: String\n    NoEcho: true\n    Default: \"\"\n", 1)
	if withSecret == string(b) {
		t.Fatal("template.yaml has no Parameters: section to add a NoEcho parameter to")
	}
	tpl := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(tpl, []byte(withSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"--json", "--webhooks-per-month=10"} {
		out, errOut, code := runCostCmd(t, format, "--template", tpl, "--param", "SecretThing=secretsecret")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if strings.Contains(out, "secretsecret") {
			t.Errorf("%s: the NoEcho parameter is shown:\n%s", format, out)
		}
	}
}

// costDocExamples are the bills docs/cost.md shows.
var costDocExamples = [][]string{
	append([]string{"--webhooks-per-month", "1000"}, typicalOrg...),
	append([]string{"--webhooks-per-month", "10000"}, typicalOrg...),
	append([]string{"--webhooks-per-month", "1000000"}, typicalOrg...),
	{"--webhooks-per-month", "10000"},
}

// TestCostDoc: docs/cost.md is what `peerbridge cost` prints; with
// PEERBRIDGE_UPDATE_COST_DOC=1 it is rewritten (make cost-figures does).
func TestCostDoc(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	doc.WriteString(costDocIntro)
	for i, args := range costDocExamples {
		out, errOut, code := runCostCmd(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		doc.WriteString(costDocCaptions[i])
		fmt.Fprintf(&doc, "```sh\npeerbridge cost %s\n```\n\n```text\n%s```\n\n", shellQuote(args), out)
	}
	doc.WriteString(costDocOutro)
	path := filepath.Join(root, "docs", "cost.md")
	if os.Getenv("PEERBRIDGE_UPDATE_COST_DOC") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (make cost-figures writes it)", err)
	}
	if string(got) != doc.String() {
		t.Errorf("docs/cost.md is not what peerbridge cost prints now: run make cost-figures\n%s", firstLineDiff(string(got), doc.String()))
	}
}

func firstLineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  file:    %q\n  printed: %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("the file has %d lines, the output %d", len(al), len(bl))
}

// shellQuote writes args for sh: single quotes around any with a character sh reads.
func shellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"'{}$*?[]()<>|&;`\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

var costDocCaptions = []string{
	"### A typical organization, 1,000 webhooks a month\n\n",
	"### A typical organization, 10,000 webhooks a month\n\n",
	"### A typical organization, 1,000,000 webhooks a month\n\n",
	"### The template's defaults (no actions, HTTP API), 10,000 webhooks a month\n\n",
}

const costDocIntro = `# What peerbridge costs

` + "`peerbridge cost`" + ` prints the monthly AWS bill of the stack that template.yaml deploys
with the parameters you give it, line by line, before you deploy:

- **prices**: us-east-1 list prices with their date, in internal/cost/prices.json (arm64
  Lambda; HTTP API 1.00 USD a million requests; EventBridge custom events 1.00 USD a million
  64 KB chunks; custom metrics 0.30 USD a metric-month, pro-rated by the hours a metric has
  data; Secrets Manager 0.40 USD a secret-month; SSM standard parameters free). Free tiers
  are shown apart: the bill is given with and without them.
- **figures**: what one webhook costs in requests and log bytes is measured, not guessed.
  ` + "`make cost-figures`" + ` runs the corpus webhooks through the local pipeline (ingest, the
  worker, every action of the template, against the sandbox Peerdom), counting each AWS
  request by function, service and operation (DynamoDB through the real table adapters on
  a counting twin, with the capacity units each call bills), the bytes each function
  writes to its log, and the custom metrics its metric lines create; it writes them to
  internal/cost/figures.json, which ` + "`peerbridge cost`" + ` embeds. A test runs 10,000 webhooks
  through the counting pipeline and holds the bill for 10,000 to its counts, so the figures
  cannot drift from the code. The worker's counts are measured twice, each webhook its
  own batch and in batches of 10, and another test holds the bill for batches of 1, 2, 5
  and 10 webhooks to counted runs in such batches.
- **assumptions** (prices.json, named "assumed" on the bill): what cannot be measured on
  this machine, each with its reason: the billed milliseconds of an invocation, Lambda's
  own platform log lines, the HTTP API's access log line, the idle long polls of the
  worker's SQS event source (5 pollers, 20 s each: about 648,000 requests a month, inside
  SQS's free million), log compression, how often secrets are read; and the worker's
  mean batch: 1 + the webhooks a second times the batching window
  (` + "`WorkerBatchingWindow`" + `, 10 s), at most 10, as for webhooks arriving at random moments
  (bursts make batches larger), with one ReceiveMessage a webhook whatever the batch (at
  these rates each arrival ends a long poll), one invocation and one delete a batch.
- **what the figures leave out**: the webhooks the actions' own writes cause (Peerdom sends
  them; count them in ` + "`--webhooks-per-month`" + `); retries and dead letters; X-Ray
  (Tracing=on); chat's API destination invocations.

A typical organization: a few hundred people, the three actions deployed, reconciliation
every 15 minutes, the function URL endpoint. This page is generated from
` + "`peerbridge cost`" + ` (make cost-figures) and a test fails when it differs from what the command
prints.

`

const costDocOutro = `After changing what a function logs or calls, ` + "`make cost-figures`" + ` measures the figures
again and regenerates this page; until then ` + "`make test`" + ` fails.
`
