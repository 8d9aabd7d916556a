package costrun

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/cost"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/repo"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

var update = flag.Bool("update", false, "measure the figures and write internal/cost/figures.json")

func root(t testing.TB) string {
	r, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Organization size of the reconcile figures: a Peerdom organization of 500 people.
const peers, roles, circles = 500, 1000, 100

// measure counts one pass of the corpus mix (after one pass that warms the sandbox and
// the tables: the actions then find what a steady organization's do).
func measure(t testing.TB, params map[string]string) cost.Counts {
	cases := corpus.Load(t)
	p, err := New(Config{Template: filepath.Join(root(t), "template.yaml"), Params: params, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), len(cases)); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	if err := p.Send(context.Background(), len(cases)); err != nil {
		t.Fatal(err)
	}
	return p.Counts()
}

// measureBatched counts the worker (and its event source) on the same pass of the corpus
// in batches of k, after the same warm pass.
func measureBatched(t testing.TB, params map[string]string, k int) *cost.Counts {
	cases := corpus.Load(t)
	p, err := New(Config{Template: filepath.Join(root(t), "template.yaml"), Params: params, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), len(cases)); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	if err := p.SendBatched(context.Background(), len(cases), k); err != nil {
		t.Fatal(err)
	}
	return workerOnly(p.Counts())
}

// workerOnly is the worker's counts and its event source's.
func workerOnly(c cost.Counts) *cost.Counts {
	var out cost.Counts
	for _, f := range c.Functions {
		if f.Code == codeWorker {
			out.Functions = append(out.Functions, f)
		}
	}
	for _, r := range c.Requests {
		if strings.TrimSuffix(r.Function, cost.EventSource) == codeWorker {
			out.Requests = append(out.Requests, r)
		}
	}
	for _, m := range c.Metrics {
		if m.Function == codeWorker {
			out.Metrics = append(out.Metrics, m)
		}
	}
	return &out
}

// workerBatchSize is the template's BatchSize for the worker: the batch the figures'
// batched counts are measured at.
func workerBatchSize(t testing.TB) int {
	tpl, err := samtemplate.Load(filepath.Join(root(t), "template.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cost.WorkerBatching(tpl)
	if err != nil {
		t.Fatal(err)
	}
	return b.Size
}

// variants are the combinations of VariantParams' allowed values in the template.
func variants(t testing.TB) []map[string]string {
	raw, err := os.ReadFile(filepath.Join(root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := samtemplate.Raw(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := []map[string]string{{}}
	for _, name := range cost.VariantParams {
		allowed, _ := samtemplate.Dig(doc, "Parameters", name, "AllowedValues").([]any)
		if allowed == nil {
			continue
		}
		var next []map[string]string
		for _, v := range out {
			for _, a := range allowed {
				m := map[string]string{name: fmt.Sprint(a)}
				for k, x := range v {
					m[k] = x
				}
				next = append(next, m)
			}
		}
		out = next
	}
	return out
}

// TestFigures measures the figures and compares them with figures.json (with -update:
// writes them). A change to what a function logs or calls fails here until
// `make cost-figures` records it.
func TestFigures(t *testing.T) {
	cases := corpus.Load(t)
	fig := &cost.Figures{
		How: fmt.Sprintf("internal/cost/costrun: each variant runs the %d corpus webhooks once to warm the sandbox and tables, then once counted, "+
			"one at a time, through ingest, the worker and every action of template.yaml (all deployed, against the sandbox Peerdom); reconcile is one run finding no difference "+
			"over %d peers, %d roles and %d circles", len(cases), peers, roles, circles),
		Webhooks:    len(cases),
		WorkerBatch: workerBatchSize(t),
	}
	fig.How += fmt.Sprintf("; the worker's counts again with the same webhooks in batches of %d", fig.WorkerBatch)
	for _, params := range variants(t) {
		fig.Variants = append(fig.Variants, cost.Variant{Params: params, Counts: measure(t, params),
			Batched: measureBatched(t, params, fig.WorkerBatch)})
	}
	rr, err := Reconcile(context.Background(), filepath.Join(root(t), "template.yaml"), nil, peers, roles, circles)
	if err != nil {
		t.Fatal(err)
	}
	fig.Reconcile = rr
	path := filepath.Join(root(t), "internal/cost/figures.json")
	if *update {
		fig.Measured = time.Now().UTC().Format("2006-01-02")
		b, err := json.MarshalIndent(fig, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	stored, err := cost.Measured()
	if err != nil {
		t.Fatal(err)
	}
	fig.Measured = stored.Measured
	if !reflect.DeepEqual(stored, fig) {
		got, _ := json.MarshalIndent(fig, "", "  ")
		want, _ := json.MarshalIndent(stored, "", "  ")
		t.Errorf("internal/cost/figures.json is not what a run measures now; run make cost-figures\n%s", firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: stored %q, measured %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("stored %d lines, measured %d", len(al), len(bl))
}

// TestCountedRunMatchesCost runs 10,000 webhooks through the local pipeline, counting
// every AWS request and log byte, and holds the bill `peerbridge cost` prints for 10,000
// webhooks to those counts.
func TestCountedRunMatchesCost(t *testing.T) {
	const n = 10000
	cases := corpus.Load(t)
	tplPath := filepath.Join(root(t), "template.yaml")
	p, err := New(Config{Template: tplPath, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), len(cases)); err != nil { // warm, as the figures were
		t.Fatal(err)
	}
	p.Reset()
	if err := p.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	counted := p.Counts()

	fig, err := cost.Measured()
	if err != nil {
		t.Fatal(err)
	}
	prices, err := cost.ListPrices()
	if err != nil {
		t.Fatal(err)
	}
	tpl := p.Template()
	bill, err := cost.EstimateAt(tpl, fig, prices, n, 1) // one at a time, as sent
	if err != nil {
		t.Fatal(err)
	}
	if len(counted.Requests) == 0 || len(counted.Functions) < 5 {
		t.Fatalf("the counted run counted too little: %+v", counted)
	}
	// Every operation's billed units, summed over the functions: the bill's quantity.
	units := map[string]float64{}
	for _, r := range counted.Requests {
		if r.Service != "peerdom" { // not an AWS bill; in the durations
			units[r.Service+" "+r.Operation] += float64(r.Units)
		}
	}
	for key, want := range units {
		service, op, _ := strings.Cut(key, " ")
		label := map[string]string{"sqs": "SQS", "events": "EventBridge", "dynamodb": "DynamoDB"}[service]
		got, found := 0.0, false
		for _, l := range bill.Lines {
			if l.Service == label && (strings.HasPrefix(l.Item, op+" ") || strings.HasPrefix(l.Item, op+":")) && !strings.Contains(l.Item, "idle") {
				got, found = got+l.Quantity, true
			}
		}
		if service == "dynamodb" || service == "events" {
			got -= reconcileShare(fig, bill, service, op)
		}
		if !found || math.Abs(got-want) > 1e-6 {
			t.Errorf("%s %s: cost says %.3f units for %d webhooks, the counted run made %.0f", service, op, got, n, want)
		}
	}
	// Every function's log bytes (its own lines, plus the platform's per invocation).
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		code := filepath.Clean(fn.CodeURI)
		if code == "functions/reconcile" {
			continue
		}
		c := counted.Function(code)
		want := float64(c.LogBytes)
		if cost.PlatformLines(tpl) {
			want += float64(c.Invocations) * prices.Assumptions.PlatformLogBytesPerInvocation
		}
		got := lineQuantity(bill, "CloudWatch Logs", fn.LogicalID+" log ingestion") * 1e9
		if c.Invocations == 0 || math.Abs(got-want) > 1e-3 {
			t.Errorf("%s: cost says %.0f log bytes for %d webhooks, the counted run wrote %.0f (%d invocations)", fn.LogicalID, got, n, want, c.Invocations)
		}
		if got, want := lineQuantity(bill, "Lambda", fn.LogicalID+" requests"), float64(c.Invocations); got != want {
			t.Errorf("%s: cost says %.0f invocations, the counted run made %.0f", fn.LogicalID, got, want)
		}
	}
	// And the figures scaled are the counts, metrics included.
	v, err := fig.Variant(tpl.Params)
	if err != nil {
		t.Fatal(err)
	}
	if scaled := v.Scaled(n, fig.Webhooks); !reflect.DeepEqual(scaled, counted) {
		a, _ := json.MarshalIndent(scaled, "", " ")
		b, _ := json.MarshalIndent(counted, "", " ")
		t.Errorf("figures scaled to %d webhooks differ from the counted run:\n%s", n, firstDiff(string(a), string(b)))
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "counted %d webhooks: bill %.4f USD, %.4f after free tiers", n, bill.Total, bill.TotalAfterFree)
	t.Log(out.String())
}

// reconcileShare is the part of a bill line's units that comes from reconcile's runs.
func reconcileShare(fig *cost.Figures, bill *cost.Bill, service, op string) float64 {
	runs := lineQuantity(bill, "Lambda", "ReconcileFunction requests")
	total := 0.0
	for _, r := range fig.Reconcile.Requests {
		if r.Service == service && r.Operation == op {
			total += runs * float64(r.Units)
		}
	}
	return total
}

func lineQuantity(b *cost.Bill, service, itemPrefix string) float64 {
	for _, l := range b.Lines {
		if l.Service == service && strings.HasPrefix(l.Item, itemPrefix) {
			return l.Quantity
		}
	}
	return math.NaN()
}

// TestWiringIsMains: the run builds each function as its main.go does (Wiring): main.go
// has the expressions Main, this package the expressions Run; for the actions, the
// constructor main.go calls reaches the tables and the runner through the methods the run
// calls (Lambda.AWS calls Tables, Lambda.Handler calls Runner, Lambda.State calls
// StateTable). When a main.go changes
// its wiring, this fails: change costrun to match, then make cost-figures.
func TestWiringIsMains(t *testing.T) {
	// The package's code, all its files: the run is split among them.
	files, err := filepath.Glob(filepath.Join(root(t), "internal", "cost", "costrun", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var run []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		run = append(run, b...)
	}
	for code, w := range Wiring {
		src, err := os.ReadFile(filepath.Join(root(t), code, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range w.Main {
			if !strings.Contains(string(src), e) {
				t.Errorf("%s/main.go no longer has %s, which internal/cost/costrun follows: make costrun build the function as main.go does, then run make cost-figures", code, e)
			}
		}
		for _, e := range w.Run {
			if strings.Count(string(run), e) < 2 { // once in Wiring, once in the code
				t.Errorf("internal/cost/costrun no longer builds %s with %s", code, e)
			}
		}
	}
	lambda, err := os.ReadFile(filepath.Join(root(t), "internal", "builtin", "lambda.go"))
	if err != nil {
		t.Fatal(err)
	}
	for method, call := range map[string]string{"AWS": "fn.Tables(", "Handler": "fn.Runner(", "State": "StateTable("} {
		if body := methodBody(t, lambda, method); !strings.Contains(body, call) {
			t.Errorf("builtin.Lambda.%s no longer calls %s, which costrun calls in its stead", method, call)
		}
	}
}

// methodBody is the source of the method name declared in src.
func methodBody(t *testing.T, src []byte, name string) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "lambda.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil && fn.Name.Name == name {
			return string(src[fset.Position(fn.Body.Pos()).Offset:fset.Position(fn.Body.End()).Offset])
		}
	}
	t.Fatalf("no method %s", name)
	return ""
}

// TestBatchedRunMatchesCost sends webhooks in worker batches of k (as the batching window
// gathers them at volume) and holds the bill for a mean batch of k to the counts: the
// worker's invocations and its event source's requests exactly, its log bytes within
// the metric line's digits (a batch's line says EventsPublished 5, not 1).
func TestBatchedRunMatchesCost(t *testing.T) {
	const n = 1000
	cases := corpus.Load(t)
	tplPath := filepath.Join(root(t), "template.yaml")
	fig, err := cost.Measured()
	if err != nil {
		t.Fatal(err)
	}
	prices, err := cost.ListPrices()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 2, 5, 10} {
		p, err := New(Config{Template: tplPath, Cases: cases})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Send(context.Background(), len(cases)); err != nil {
			t.Fatal(err)
		}
		p.Reset()
		if err := p.SendBatched(context.Background(), n, k); err != nil {
			t.Fatal(err)
		}
		counted := p.Counts()
		bill, err := cost.EstimateAt(p.Template(), fig, prices, n, float64(k))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := lineQuantity(bill, "Lambda", "WorkerFunction requests"), float64(counted.Function(codeWorker).Invocations); math.Abs(got-want) > 1e-6 || want != n/float64(k) {
			t.Errorf("batches of %d: cost says %.3f worker invocations, the counted run made %.0f (want %d)", k, got, want, n/k)
		}
		for _, op := range []string{"ReceiveMessage", "DeleteMessageBatch"} {
			var want float64
			for _, r := range counted.Requests {
				if r.Service == "sqs" && r.Operation == op {
					want += float64(r.Units)
				}
			}
			if got := lineQuantity(bill, "SQS", op); math.Abs(got-want) > 1e-6 {
				t.Errorf("batches of %d: cost says %.3f %s requests, the counted run made %.0f", k, got, op, want)
			}
		}
		var events float64
		for _, r := range counted.Requests {
			if r.Function == codeWorker && r.Service == "events" {
				events += float64(r.Units)
			}
		}
		if got := lineQuantity(bill, "EventBridge", "PutEvents") - actionEvents(counted); math.Abs(got-events) > 1e-6 {
			t.Errorf("batches of %d: cost says %.3f of the worker's events, the counted run put %.0f", k, got, events)
		}
		want := float64(counted.Function(codeWorker).LogBytes)
		got := lineQuantity(bill, "CloudWatch Logs", "WorkerFunction log ingestion") * 1e9
		if math.Abs(got-want) > 0.01*want {
			t.Errorf("batches of %d: cost says %.0f bytes of the worker's log, the counted run wrote %.0f", k, got, want)
		}
		t.Logf("batches of %d: worker log %.0f B counted, %.0f B priced; %d invocations", k, want, got, counted.Function(codeWorker).Invocations)
	}
}

// actionEvents are the events the counted run's actions put (enrich's snapshots).
func actionEvents(c cost.Counts) float64 {
	var n float64
	for _, r := range c.Requests {
		if r.Service == "events" && r.Function != codeWorker {
			n += float64(r.Units)
		}
	}
	return n
}

// TestBatchWithAFailedEntry: a batch of 10 through the pipeline the figures count, one of
// whose events the bus refuses once: the worker reports that message alone, the queue
// gives it back alone (its second receive), and every delivery id is published exactly
// once; nothing is dead-lettered or left in the queue.
func TestBatchWithAFailedEntry(t *testing.T) {
	cases := corpus.Load(t)
	p, err := New(Config{Template: filepath.Join(root(t), "template.yaml"), Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for _, c := range cases {
		resp := p.p.Ingest.Handle(ctx, ingest.Request{Method: http.MethodPost, Token: p.token, Body: c.Body})
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.Name, resp.Status, resp.Body)
		}
		var answer struct{ ID string }
		if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil || answer.ID == "" {
			t.Fatalf("%s: answer %s: %v", c.Name, resp.Body, err)
		}
		ids = append(ids, answer.ID)
	}
	victim := ids[3]
	refused := 0
	p.p.Bus.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"id":"`+victim+`"`) && refused == 0 {
			refused++
			return "InternalFailure", "injected"
		}
		return "", ""
	}
	var batches []int
	var reported [][]string
	for {
		got, err := p.p.Queue.Poll(ctx, 10, func(ctx context.Context, batch []queue.Message) ([]string, error) {
			failed, err := p.p.Worker.Handle(ctx, batch)
			reported = append(reported, failed)
			return failed, err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			break
		}
		batches = append(batches, got)
	}
	if refused != 1 {
		t.Fatalf("the fault fired %d times, want 1", refused)
	}
	if !reflect.DeepEqual(batches, []int{10, 1}) || len(reported[0]) != 1 || len(reported[1]) != 0 {
		t.Errorf("batches %v, reported failures %v: want [10 1], one then none", batches, reported)
	}
	published := map[string]int{}
	for _, e := range p.p.Bus.Events() {
		var d struct{ ID string }
		if err := json.Unmarshal([]byte(e.Entry.Detail), &d); err != nil {
			t.Fatal(err)
		}
		published[d.ID]++
	}
	for _, id := range ids {
		if published[id] != 1 {
			t.Errorf("delivery %s published %d times, want once", id, published[id])
		}
	}
	if len(published) != len(ids) {
		t.Errorf("%d delivery ids published, want %d", len(published), len(ids))
	}
	if n, dead := p.p.Queue.Len(), len(p.p.Queue.DeadLetters()); n != 0 || dead != 0 {
		t.Errorf("%d messages left in the queue, %d dead-lettered", n, dead)
	}
}
