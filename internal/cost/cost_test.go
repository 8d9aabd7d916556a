package cost

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

func TestRunsPerMonth(t *testing.T) {
	for expr, want := range map[string]float64{
		"rate(15 minutes)":      2920,
		"rate(1 minute)":        43800,
		"rate(1 hour)":          730,
		"rate(2 hours)":         365,
		"rate(1 day)":           730.0 / 24,
		"cron(0/15 * * * ? *)":  2920,
		"cron(0 8,17 * * ? *)":  730.0 / 24 * 2,
		"cron(30 */6 * * ? *)":  730.0 / 24 * 4,
		" rate(30 minutes) ":    1460,
		"cron(0 12 ? * MON *)":  -1,
		"rate(fifteen minutes)": -1,
	} {
		got, err := runsPerMonth(expr, 730)
		if want < 0 {
			if err == nil {
				t.Errorf("%q: %v, want an error", expr, got)
			}
			continue
		}
		if err != nil || math.Abs(got-want) > 1e-9 {
			t.Errorf("%q: %v, %v; want %v", expr, got, err, want)
		}
	}
}

func load(t *testing.T, edit func(string) string, params map[string]string) *samtemplate.Template {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if edit != nil {
		text = edit(text)
	}
	tpl, err := samtemplate.Parse([]byte(text), params)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func estimate(t *testing.T, tpl *samtemplate.Template, n int) *Bill {
	t.Helper()
	fig, err := Measured()
	if err != nil {
		t.Fatal(err)
	}
	prices, err := ListPrices()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Estimate(tpl, fig, prices, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func find(b *Bill, service, prefix string) (Line, bool) {
	for _, l := range b.Lines {
		if l.Service == service && strings.HasPrefix(l.Item, prefix) {
			return l, true
		}
	}
	return Line{}, false
}

var actions = map[string]string{"PeerdomApiKeyParameterName": "key", "OnboardingRoleIds": "r1", "RoleDefaults": `{"Purpose":"x"}`}

// The bill follows the template and its parameters: what is deployed, how often
// reconcile runs, the endpoint, the secrets, the log level and the system log level.
func TestEstimateFollowsTheTemplate(t *testing.T) {
	plain := estimate(t, load(t, nil, nil), 10000)
	if _, ok := find(plain, "API Gateway", "HTTP API requests"); !ok {
		t.Error("default endpoint: no HTTP API line")
	}
	if _, ok := find(plain, "Lambda", "EnrichFunction"); ok {
		t.Error("no API key secret: enrich is not deployed, yet priced")
	}
	if l, _ := find(plain, "Secrets Manager", "secrets"); l.Quantity != 0 {
		t.Errorf("default: %v secrets, want 0 (the token is an SSM parameter)", l.Quantity)
	}
	legacy := estimate(t, load(t, nil, map[string]string{"WebhookTokenSecretName": "peerbridge/webhook-token"}), 10000)
	if l, _ := find(legacy, "Secrets Manager", "secrets"); l.Quantity != 1 || l.Cost != 0.40 {
		t.Errorf("WebhookTokenSecretName: %+v, want 1 secret at 0.40", l)
	}
	if l, _ := find(legacy, "Secrets Manager", "GetSecretValue"); l.Quantity == 0 {
		t.Errorf("WebhookTokenSecretName: no secret reads priced: %+v", l)
	}

	withURL := map[string]string{"Endpoint": "FunctionUrl"}
	for k, v := range actions {
		withURL[k] = v
	}
	full := estimate(t, load(t, nil, withURL), 10000)
	if _, ok := find(full, "API Gateway", ""); ok {
		t.Error("FunctionUrl: an API Gateway line")
	}
	if l, _ := find(full, "Secrets Manager", "secrets"); l.Quantity != 0 {
		t.Errorf("with the actions: %v secrets, want 0 (the token and the API key are SSM parameters)", l.Quantity)
	}
	if l, ok := find(full, "SSM Parameter Store", ""); ok && l.Cost != 0 {
		t.Errorf("SSM standard parameters are free: %+v", l)
	}
	if l, _ := find(full, "Lambda", "ReconcileFunction requests"); l.Quantity != 2920 {
		t.Errorf("reconcile every 15 minutes: %v runs, want 2920", l.Quantity)
	}
	if !(full.Total > plain.Total) {
		t.Errorf("the actions cost nothing: %v vs %v", full.Total, plain.Total)
	}
	withURL["ReconcileSchedule"] = ""
	noSchedule := estimate(t, load(t, nil, withURL), 10000)
	if _, ok := find(noSchedule, "DynamoDB", "Scan"); ok {
		t.Error("no schedule: reconcile's scans are still priced")
	}

	// Log level: the warn variant writes fewer bytes than info.
	info, _ := find(plain, "CloudWatch Logs", "IngestFunction log ingestion")
	warn, _ := find(estimate(t, load(t, nil, map[string]string{"LogLevel": "warn"}), 10000), "CloudWatch Logs", "IngestFunction log ingestion")
	if !(warn.Quantity < info.Quantity) {
		t.Errorf("LogLevel=warn logs %v GB, info %v GB", warn.Quantity, info.Quantity)
	}
	// System log level WARN: no platform lines.
	systemLevel := func(level string) func(string) string {
		return func(s string) string {
			var lines []string
			for _, l := range strings.Split(s, "\n") {
				if strings.TrimSpace(l) != "" && strings.HasPrefix(strings.TrimSpace(l), "SystemLogLevel:") {
					continue
				}
				lines = append(lines, l)
				if l == "      LogFormat: JSON" {
					lines = append(lines, "      SystemLogLevel: "+level)
				}
			}
			return strings.Join(lines, "\n")
		}
	}
	loud, _ := find(estimate(t, load(t, systemLevel("INFO"), nil), 10000), "CloudWatch Logs", "IngestFunction log ingestion")
	quiet, _ := find(estimate(t, load(t, systemLevel("WARN"), nil), 10000), "CloudWatch Logs", "IngestFunction log ingestion")
	prices, _ := ListPrices()
	if got, want := (loud.Quantity-quiet.Quantity)*1e9, 10000*prices.Assumptions.PlatformLogBytesPerInvocation; math.Abs(got-want) > 1e-3 {
		t.Errorf("SystemLogLevel WARN saves %v bytes of ingest's log, want the platform lines' %v", got, want)
	}
}

// Custom metrics are pro-rated by the hours with data: a metric written at every webhook
// costs nearly a full month at a webhook a minute, a small share at one a day.
func TestMetricsAreProRated(t *testing.T) {
	tpl := load(t, nil, map[string]string{"Metrics": "detailed"}) // basic writes none on the samples' healthy path
	busy, _ := find(estimate(t, tpl, 43800), "CloudWatch", "custom metrics")
	quiet, _ := find(estimate(t, tpl, 30), "CloudWatch", "custom metrics")
	none, _ := find(estimate(t, tpl, 0), "CloudWatch", "custom metrics")
	var metrics int
	if _, err := fmt.Sscanf(busy.Item, "custom metrics: %d,", &metrics); err != nil || metrics == 0 {
		t.Fatalf("%q: %v", busy.Item, err)
	}
	// At a webhook a minute, a metric written for a tenth of the webhooks or more has
	// data in nearly every hour.
	if none.Quantity != 0 || !(quiet.Quantity > 0 && quiet.Quantity < 1) || !(busy.Quantity > 0.9*float64(metrics)) {
		t.Errorf("metric-months of %d metrics: %v at 0 webhooks, %v at 30, %v at 43,800", metrics, none.Quantity, quiet.Quantity, busy.Quantity)
	}
}

// The Metrics parameter: basic (the default) writes few undimensioned metrics and
// deploys no dashboard; detailed adds the per-type dimensions and the dashboard.
func TestMetricsLevel(t *testing.T) {
	count := func(b *Bill) int {
		l, ok := find(b, "CloudWatch", "custom metrics")
		var n int
		if _, err := fmt.Sscanf(l.Item, "custom metrics: %d,", &n); !ok || err != nil {
			t.Fatalf("no custom metrics line: %+v", l)
		}
		return n
	}
	basic := estimate(t, load(t, nil, actions), 10000)
	detailed := estimate(t, load(t, nil, map[string]string{"Metrics": "detailed", "PeerdomApiKeyParameterName": "key",
		"OnboardingRoleIds": "r1", "RoleDefaults": `{"Purpose":"x"}`}), 10000)
	// basic writes failure counts only: the samples' run, where nothing fails, feeds none.
	if b, d := count(basic), count(detailed); b != 0 || d <= 8 {
		t.Errorf("custom metrics: basic %d (want 0), detailed %d (want more than 8)", b, d)
	}
	if l, _ := find(basic, "CloudWatch", "dashboards"); l.Quantity != 0 {
		t.Errorf("basic: %v dashboards, want 0", l.Quantity)
	}
	if l, _ := find(detailed, "CloudWatch", "dashboards"); l.Quantity != 1 {
		t.Errorf("detailed: %v dashboards, want 1", l.Quantity)
	}
}

// The alarms at the default metrics level: a dead-letter alarm for each queue, the
// webhook queue's age, and with reconciliation its heartbeat and drift; the endpoint's
// 4xx/5xx alarms only without reconciliation (or at detailed). All but ReconcileDrift
// watch AWS's own metrics, free of custom-metric charges; each is priced per metric.
func TestAlarmsAtBasic(t *testing.T) {
	alarms := func(params map[string]string) (names []string, custom []string) {
		for _, r := range load(t, nil, params).Resources() {
			if r.Type != "AWS::CloudWatch::Alarm" {
				continue
			}
			names = append(names, r.LogicalID)
			if ns, _ := r.Properties["Namespace"].(string); !strings.HasPrefix(ns, "AWS/") {
				custom = append(custom, r.LogicalID)
			}
		}
		slices.Sort(names)
		return names, custom
	}
	typical := map[string]string{"Endpoint": "FunctionUrl"}
	for k, v := range actions {
		typical[k] = v
	}
	names, custom := alarms(typical)
	if want := []string{"EventDeliveryDLQAlarm", "ReconcileDriftAlarm", "ReconcileHeartbeatAlarm", "WebhookDLQAlarm", "WebhookQueueAgeAlarm"}; !slices.Equal(names, want) {
		t.Errorf("typical organization, basic: alarms %v, want %v", names, want)
	}
	if !slices.Equal(custom, []string{"ReconcileDriftAlarm"}) {
		t.Errorf("alarms on custom metrics %v, want ReconcileDriftAlarm alone (written only when reconcile finds differences)", custom)
	}
	if l, _ := find(estimate(t, load(t, nil, typical), 10000), "CloudWatch", "alarm metrics"); l.Quantity != 5 {
		t.Errorf("typical organization: %v alarm metrics priced, want 5", l.Quantity)
	}
	names, _ = alarms(nil)
	if want := []string{"EventDeliveryDLQAlarm", "Ingest4xxAlarm", "Ingest5xxAlarm", "WebhookDLQAlarm", "WebhookQueueAgeAlarm"}; !slices.Equal(names, want) {
		t.Errorf("defaults (no reconciliation): alarms %v, want %v", names, want)
	}
	noSchedule := map[string]string{"Endpoint": "FunctionUrl", "ReconcileSchedule": ""}
	for k, v := range actions {
		noSchedule[k] = v
	}
	if names, _ = alarms(noSchedule); !slices.Contains(names, "IngestUrl5xxAlarm") || slices.Contains(names, "ReconcileHeartbeatAlarm") {
		t.Errorf("actions without a reconcile schedule: alarms %v, want the endpoint's 5xx alarm and no heartbeat", names)
	}
	typical["Metrics"] = "detailed"
	if names, _ = alarms(typical); !slices.Contains(names, "IngestUrl5xxAlarm") || !slices.Contains(names, "UnrecognizedShareAlarm") {
		t.Errorf("detailed: alarms %v, want the endpoint's and the unrecognized share's too", names)
	}
}

// Per million webhooks at volume (issue 22): the pipeline with the function URL at most
// 2.50 USD; the actions (at the corpus mix) held to what was reached (the target, 2.00,
// is not met); the log bytes a webhook at info (platform lines and the HTTP API's access
// log included) at most 800, at volume and in batches of one.
func TestPerMillionTargets(t *testing.T) {
	fig, _ := Measured()
	prices, _ := ListPrices()
	perMillion := func(params map[string]string) (float64, float64) {
		usd, logBytes, err := PerMillion(load(t, nil, params), fig, prices)
		if err != nil {
			t.Fatal(err)
		}
		return usd, logBytes
	}
	withActions := func(endpoint string) map[string]string {
		m := map[string]string{"Endpoint": endpoint}
		for k, v := range actions {
			m[k] = v
		}
		return m
	}
	urlPipeline, urlLog := perMillion(map[string]string{"Endpoint": "FunctionUrl"})
	apiPipeline, apiLog := perMillion(map[string]string{"Endpoint": "HttpApi"})
	urlFull, _ := perMillion(withActions("FunctionUrl"))
	apiFull, _ := perMillion(withActions("HttpApi"))
	t.Logf("per million webhooks: pipeline %.3f USD with the function URL, %.3f with the HTTP API; actions %.3f (%.3f with the HTTP API); log bytes a webhook %.0f (function URL), %.0f (HTTP API)",
		urlPipeline, apiPipeline, urlFull-urlPipeline, apiFull-apiPipeline, urlLog, apiLog)
	if urlPipeline > 2.50 {
		t.Errorf("the pipeline with the function URL costs %.3f USD a million webhooks, want at most 2.50", urlPipeline)
	}
	// Issue 22's target for the actions is 2.00 USD: NOT met (2.155 since enrich's rule
	// matches only events it acts on, from 2.972; docs/cost-levers.md says what is left).
	// This holds what was reached, so that a change cannot lose it unnoticed.
	if actions := urlFull - urlPipeline; actions > 2.16 {
		t.Errorf("the actions cost %.3f USD a million webhooks, more than the 2.16 reached in issue 22 (its target: 2.00)", actions)
	}
	if apiLog > 800 {
		t.Errorf("%.0f log bytes a webhook with the HTTP API at volume, want at most 800", apiLog)
	}
	// And each webhook its own batch, as at a typical organization's rate.
	one, err := EstimateAt(load(t, nil, map[string]string{"Endpoint": "HttpApi"}), fig, prices, 10000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var logGB float64
	for _, l := range one.Lines {
		if l.Service == "CloudWatch Logs" && l.Unit == "GB" {
			logGB += l.Quantity
		}
	}
	t.Logf("log bytes a webhook in batches of one, HTTP API: %.0f", logGB*1e9/10000)
	if b := logGB * 1e9 / 10000; b > 800 {
		t.Errorf("%.0f log bytes a webhook with the HTTP API in batches of one, want at most 800", b)
	}
}

// The worker's mean batch follows the template's window and batch size and the rate:
// 1 + rate × window, at most the batch size; 1 without a window.
func TestWorkerBatching(t *testing.T) {
	for _, c := range []struct {
		window   string
		webhooks float64
		want     float64
	}{
		{"10", 0, 1},
		{"10", 10000, 1 + 10000.0/(730*3600)*10},
		{"10", 1e6, 1 + 1e6/(730*3600)*10},
		{"0", 1e6, 1},
		{"60", 1e7, 10},
	} {
		b, err := WorkerBatching(load(t, nil, map[string]string{"WorkerBatchingWindow": c.window}))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Expected(c.webhooks, 730); b.Size != 10 || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("window %s s, %v webhooks a month: batch size %d, mean batch %v; want 10, %v", c.window, c.webhooks, b.Size, got, c.want)
		}
	}
	// The bill's worker invocations are the webhooks over the mean batch.
	fig, _ := Measured()
	prices, _ := ListPrices()
	bill, err := Estimate(load(t, nil, map[string]string{"WorkerBatchingWindow": "60"}), fig, prices, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := find(bill, "Lambda", "WorkerFunction requests"); !ok || math.Abs(l.Quantity-1_000_000) > 1e-3 {
		t.Errorf("10M webhooks in batches of 10: %v worker invocations, want 1,000,000", l.Quantity)
	}
}
