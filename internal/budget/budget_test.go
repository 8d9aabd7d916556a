package budget

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/internal/worker"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

const (
	token     = "budget-test-token-0123456789"
	namespace = "peerbridge/budget"
	botEmail  = "bot@acme.example"
)

// run is one pass of webhooks through the functions, each function's output (its logs
// and metric lines, as Lambda sends its stdout to CloudWatch) kept apart.
type run struct {
	webhooks    int // accepted
	out         map[string]*bytes.Buffer
	invocations map[string]int
}

// faults adds to the sample webhooks what the alarms and status count when it goes
// wrong: a wrong token, a body too large, a failed put on the bus, a failed action.
type options struct {
	rounds   int
	detailed bool
	faults   bool
	noTest   bool // leave out the Test URL button's message (Unrecognized)
}

func pass(t *testing.T, o options) run {
	t.Helper()
	ctx := context.Background()
	r := run{out: map[string]*bytes.Buffer{}, invocations: map[string]int{}}
	out := func(fn string) *bytes.Buffer {
		if r.out[fn] == nil {
			r.out[fn] = &bytes.Buffer{}
		}
		return r.out[fn]
	}
	writer := func(fn string) *metrics.Writer {
		return &metrics.Writer{W: out(fn), Namespace: namespace, Detailed: o.detailed}
	}

	sandbox := peerdomtest.NewServer(peerdomtest.Config{Organization: "acme", APIKey: "bot-key", OwnerName: "Peerbridge Bot", OwnerEmail: botEmail})
	t.Cleanup(sandbox.Close)
	sandbox.AddPeer(peerdomapi.Peer{ID: webhooksamples.PeerID, FirstName: "Ada", LastName: "Lovelace"})
	sandbox.AddGroup(peerdomapi.Group{ID: webhooksamples.GroupID, Name: "Research"})
	sandbox.AddRole(peerdomapi.Role{ID: webhooksamples.RoleID, Name: "Facilitator", ParentID: webhooksamples.GroupID})
	onboardRole := sandbox.AddRole(peerdomapi.Role{Name: "Newcomer", ParentID: webhooksamples.GroupID})

	tokens, err := ingest.NewTokens([]string{token})
	if err != nil {
		t.Fatal(err)
	}
	q := memqueue.New()
	in := &ingest.Handler{Tokens: tokens, Queue: q, Source: "peerdom", Logger: logging.Lambda(out("ingest"), "info"), Metrics: writer("ingest")}
	post := func(tok, body string) int {
		r.invocations["ingest"]++
		return in.Handle(ctx, ingest.Request{Method: http.MethodPost, Token: tok, Body: []byte(body), SourceIP: "203.0.113.9",
			UserAgent: "Peerdom-Webhooks/1.0", DeliveryID: fmt.Sprintf("req-%d", r.invocations["ingest"])}).Status
	}
	for range o.rounds {
		for _, kind := range webhooksamples.Kinds() {
			if o.noTest && kind == webhooksamples.Test {
				continue
			}
			body, _ := webhooksamples.Body(kind)
			if status := post(token, string(body)); status != 200 {
				t.Fatalf("%s: %d", kind, status)
			}
			r.webhooks++
		}
	}
	if o.faults {
		body, _ := webhooksamples.Body("role-created")
		if post("wrong-token-0123456789", string(body)) != 401 || post(token, string(webhooksamples.EventTooLargeForBus())) != 413 {
			t.Fatal("faults were not refused")
		}
	}

	b := membus.New()
	if o.faults {
		failed := false
		b.FailEntry = func(e bus.Entry) (string, string) {
			if !failed && e.DetailType == "Group Updated" {
				failed = true
				return "InternalFailure", "injected"
			}
			return "", ""
		}
	}
	wk := &worker.Handler{Bus: b, Source: "peerdom", Logger: logging.Lambda(out("worker"), "info"), Metrics: writer("worker")}
	for {
		// The template's batch: up to 10 messages.
		batch, err := q.Receive(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		r.invocations["worker"]++
		failed, err := wk.Handle(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range batch {
			if !slices.Contains(failed, m.ID) {
				if err := q.Delete(ctx, m.Receipt); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(failed) > 0 && !o.faults {
			t.Fatalf("worker failed %v", failed)
		}
		if len(failed) > 0 {
			break // the fault's retry is not what is measured
		}
	}

	// The actions, each on its rule's events (template.yaml), with the template's
	// configuration and the effects-once store.
	snapshots := membus.New()
	type deployed struct {
		name    string
		runner  *action.Runner
		matches func(detailType string) bool
	}
	api := sandbox.Client(peerdomapi.WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }))
	env := map[string]string{"ONBOARDING_ROLE_IDS": onboardRole.ID, "ROLE_DEFAULTS": `{"Purpose": "To be defined"}`, "EVENT_SOURCE": "peerdom"}
	var actions []deployed
	for _, a := range []struct {
		name    string
		matches func(string) bool
	}{
		{action.NameOnboardPeer, func(dt string) bool { return dt == "Peer Created" }},
		{action.NameRoleDefaults, func(dt string) bool { return dt == "Role Created" }},
		{action.NameEnrich, func(dt string) bool {
			return strings.HasSuffix(dt, " Created") || strings.HasSuffix(dt, " Updated") || strings.HasSuffix(dt, " Deleted")
		}},
	} {
		newHandler, err := builtin.HandlerOf(a.name)
		if err != nil {
			t.Fatal(err)
		}
		h, err := newHandler(builtin.Adapters{API: api, Bus: snapshots}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if o.faults && a.name == action.NameOnboardPeer {
			h = action.HandlerFunc(func(context.Context, action.Event) error { return fmt.Errorf("injected") })
		}
		runner := &action.Runner{Name: a.name, Handler: h, IgnoreAuthors: []string{botEmail}, Logger: logging.Lambda(out(a.name), "info"),
			Once: &action.Once{Store: memstore.New(nil)}, Metrics: writer(a.name)}
		actions = append(actions, deployed{a.name, runner, a.matches})
	}
	for _, ev := range b.Events() {
		for _, a := range actions {
			if a.matches(ev.Entry.DetailType) {
				r.invocations[a.name]++
				_ = awsaction.EventBridgeHandler(a.runner)(ctx, events.EventBridgeEvent(ev.CloudWatchEvent()))
			}
		}
	}
	if o.faults {
		line, ok := reconcile.MetricLine(reconcile.Report{Differences: 2}, "budget-reconcile", time.Now())
		if !ok {
			t.Fatal("no reconcile metric line")
		}
		out("reconcile").Write(append(line, '\n'))
	}
	return r
}

// customMetrics lists the distinct custom metrics the output's EMF lines create: each
// (namespace, name, dimension names=values) CloudWatch bills as one metric.
func customMetrics(t *testing.T, r run) []string {
	t.Helper()
	set := map[string]bool{}
	for fn, buf := range r.out {
		for _, line := range strings.Split(buf.String(), "\n") {
			if !strings.Contains(line, `"_aws"`) {
				continue
			}
			var root map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &root); err != nil {
				t.Fatalf("%s: %v: %s", fn, err, line)
			}
			var meta struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			}
			if err := json.Unmarshal(root["_aws"], &meta); err != nil {
				t.Fatal(err)
			}
			for _, d := range meta.CloudWatchMetrics {
				for _, dims := range d.Dimensions {
					var parts []string
					for _, dim := range dims {
						var v string
						_ = json.Unmarshal(root[dim], &v)
						parts = append(parts, dim+"="+v)
					}
					for _, m := range d.Metrics {
						set[d.Namespace+" "+m.Name+" {"+strings.Join(parts, ",")+"}"] = true
					}
				}
			}
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCustomMetricsAtDefault: at the default (basic) level, the functions create at
// most 8 custom metrics over the sample webhooks with every counted fault happening
// (each fault adds the metric that counts it), none dimensioned; a healthy pass feeds
// none (a custom metric is billed for the hours it receives data).
func TestCustomMetricsAtDefault(t *testing.T) {
	all := customMetrics(t, pass(t, options{rounds: 2, faults: true}))
	t.Logf("%d custom metrics at basic:\n%s", len(all), strings.Join(all, "\n"))
	if len(all) > 8 {
		t.Errorf("%d custom metrics at the default level, want at most 8", len(all))
	}
	for _, m := range all {
		if !strings.HasSuffix(m, "{}") && !strings.HasPrefix(m, reconcile.MetricNamespace+" ") {
			t.Errorf("dimensioned metric at basic: %s", m)
		}
	}
	for _, want := range append(slices.Clone(metrics.Basic), reconcile.MetricDifferences) {
		if !slices.ContainsFunc(all, func(m string) bool { return strings.Contains(m, " "+want+" ") }) {
			t.Errorf("%s: not written, though its fault happened (the alarms and status read it)", want)
		}
	}
	healthy := customMetrics(t, pass(t, options{rounds: 2, noTest: true}))
	if len(healthy) != 0 {
		t.Errorf("a healthy pass fed %v, want no custom metric", healthy)
	}
	detailed := customMetrics(t, pass(t, options{rounds: 2, faults: true, detailed: true}))
	t.Logf("%d custom metrics at detailed", len(detailed))
	if len(detailed) <= len(all) {
		t.Errorf("detailed: %d metrics, not more than basic's %d", len(detailed), len(all))
	}
}

// platformBytes is what Lambda's own lines (START, END, REPORT, as JSON at the
// template's LogFormat) take per invocation at system log level INFO; at WARN (the
// template's SystemLogLevel) Lambda writes none for an invocation that ends well.
const platformBytes = 477

// TestLogBytesPerWebhook: at info, everything the functions write per webhook accepted
// (logs and metric lines of ingest, the worker and the three actions, at the sample
// mix), plus Lambda's platform lines at the template's system log level, is at most
// 800 bytes.
func TestLogBytesPerWebhook(t *testing.T) {
	r := pass(t, options{rounds: 10})
	total := 0
	var report []string
	for _, fn := range []string{"ingest", "worker", action.NameEnrich, action.NameOnboardPeer, action.NameRoleDefaults} {
		n := r.out[fn].Len()
		total += n
		report = append(report, fmt.Sprintf("%-13s %5d invocations %7d bytes %6.1f B/webhook %6.1f B/invocation", fn, r.invocations[fn], n,
			float64(n)/float64(r.webhooks), float64(n)/float64(r.invocations[fn])))
	}
	invocations := 0
	for _, n := range r.invocations {
		invocations += n
	}
	perWebhook := float64(total) / float64(r.webhooks)
	t.Logf("%d webhooks, info, basic metrics:\n%s\nfunctions' output: %.0f B/webhook; platform lines at INFO would add %.0f B/webhook (%d invocations x %d B), at WARN none",
		r.webhooks, strings.Join(report, "\n"), perWebhook, float64(invocations*platformBytes)/float64(r.webhooks), invocations, platformBytes)
	if perWebhook > 800 {
		t.Errorf("%.0f log bytes per webhook at info, want at most 800", perWebhook)
	}
}
