// Package cost prices a month of the stack that template.yaml deploys with given
// parameters: line by line, at the list prices of prices.json, from the per-webhook
// figures of figures.json that a counted run of the local pipeline measured
// (internal/cost/costrun, `make cost-figures`). `peerbridge cost` prints it.
package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// Prices is prices.json: list prices with their date, free tiers, and the assumptions
// the figures cannot measure here.
type Prices struct {
	Date        string             `json:"date"`
	Region      string             `json:"region"`
	Source      string             `json:"source"`
	Prices      map[string]float64 `json:"prices"`
	Free        map[string]float64 `json:"free"`
	Assumptions struct {
		HoursPerMonth                 float64 `json:"hoursPerMonth"`
		BaseMsPerInvocation           float64 `json:"baseMsPerInvocation"`
		MsPerAWSCall                  float64 `json:"msPerAWSCall"`
		MsPerPeerdomCall              float64 `json:"msPerPeerdomCall"`
		PlatformLogBytesPerInvocation float64 `json:"platformLogBytesPerInvocation"`
		AccessLogBytesPerRequest      float64 `json:"accessLogBytesPerRequest"`
		SQSIdlePollsPerMonth          float64 `json:"sqsIdlePollsPerMonth"`
		LogsStoredFraction            float64 `json:"logsStoredFraction"`
		SecretReadsEveryMinutes       float64 `json:"secretReadsEveryMinutes"`
	} `json:"assumptions"`
	Notes []string `json:"notes"`
}

//go:embed prices.json
var pricesJSON []byte

// ListPrices returns prices.json.
func ListPrices() (*Prices, error) {
	var p Prices
	if err := json.Unmarshal(pricesJSON, &p); err != nil {
		return nil, fmt.Errorf("internal/cost/prices.json: %w", err)
	}
	return &p, nil
}

func (p *Prices) price(name string) float64 {
	v, ok := p.Prices[name]
	if !ok {
		panic("cost: prices.json has no price " + name)
	}
	return v
}

// Line is one item of the bill.
type Line struct {
	Service  string  `json:"service"`
	Item     string  `json:"item"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Cost     float64 `json:"usd"`
}

// Credit is a free tier applied to the bill.
type Credit struct {
	Tier   string  `json:"tier"`
	Amount float64 `json:"usd"` // what it takes off (positive)
}

// Bill is a month of the stack.
type Bill struct {
	WebhooksPerMonth int               `json:"webhooksPerMonth"`
	Params           map[string]string `json:"params"` // every parameter as deployed
	PricesDate       string            `json:"pricesDate"`
	FiguresDate      string            `json:"figuresDate"`
	Lines            []Line            `json:"lines"`
	Total            float64           `json:"totalUsd"` // without free tiers
	Credits          []Credit          `json:"freeTiers"`
	TotalAfterFree   float64           `json:"totalAfterFreeTiersUsd"`
	Notes            []string          `json:"notes"`
}

// Usage is what the stack uses in a month: the counted figures scaled to the month.
type Usage struct {
	Webhooks  int
	Functions []FunctionUsage
}

// FunctionUsage is one deployed function's month.
type FunctionUsage struct {
	LogicalID   string
	Code        string
	MemoryMB    int
	Invocations float64
	LogBytes    float64 // its own lines (application and EMF)
}

// Estimate prices a month of webhooksPerMonth webhooks through tpl (resolved with its
// parameters) from the measured figures, the worker's batches as large as the rate and
// the template's batching window make them (Batching.Expected).
func Estimate(tpl *samtemplate.Template, fig *Figures, prices *Prices, webhooksPerMonth int) (*Bill, error) {
	batching, err := WorkerBatching(tpl)
	if err != nil {
		return nil, err
	}
	return EstimateAt(tpl, fig, prices, webhooksPerMonth, batching.Expected(float64(webhooksPerMonth), prices.Assumptions.HoursPerMonth))
}

// EstimateAt is Estimate with the worker's mean batch given: batch webhooks a worker
// invocation (1: each webhook its own batch).
func EstimateAt(tpl *samtemplate.Template, fig *Figures, prices *Prices, webhooksPerMonth int, batch float64) (*Bill, error) {
	variant, err := fig.Variant(tpl.Params)
	if err != nil {
		return nil, err
	}
	vu := usesAt(variant.Counts, variant.Batched, fig.WorkerBatch, batch)
	ru := usesAt(fig.Reconcile.Counts, nil, 0, 1)
	fns, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	resources := tpl.Resources()
	b := &Bill{WebhooksPerMonth: webhooksPerMonth, Params: Shown(tpl, tpl.Params), PricesDate: prices.Date, FiguresDate: fig.Measured}
	n := float64(webhooksPerMonth)
	perWebhook := func(v float64) float64 { return v * n / float64(fig.Webhooks) }
	hours := prices.Assumptions.HoursPerMonth

	// Reconcile's schedule: runs a month.
	runs := 0.0
	for _, r := range resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		expr, _ := r.Properties["ScheduleExpression"].(string)
		if expr == "" {
			continue
		}
		per, err := runsPerMonth(expr, hours)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.LogicalID, err)
		}
		runs += per
	}
	deployed := map[string]bool{}
	arch := fmt.Sprint(tpl.Global("Function", "Architectures"))
	gbSecondPrice, archName := prices.price("lambdaGBSecondArm64"), "arm64"
	if !strings.Contains(arch, "arm64") {
		gbSecondPrice, archName = prices.price("lambdaGBSecondX86"), "x86_64"
	}
	platformLines := PlatformLines(tpl)

	var lambdaRequests, gbSeconds, logBytes float64
	secretIDs := map[string]bool{}
	var secretReads float64
	for _, fn := range fns {
		code := path.Clean(fn.CodeURI)
		deployed[code] = true
		var inv float64
		var ownLog float64
		if code == "functions/reconcile" {
			inv = runs * float64(max(fig.Reconcile.Function(code).Invocations, 1))
			ownLog = runs * float64(fig.Reconcile.Function(code).LogBytes)
		} else {
			fc := vu.function(code)
			if fc.invocations == 0 {
				b.Notes = append(b.Notes, fmt.Sprintf("%s (%s): no figures measured; priced at zero", fn.LogicalID, code))
			}
			inv = perWebhook(fc.invocations)
			ownLog = perWebhook(fc.logBytes)
		}
		ms := billedMs(prices, vu, ru, code)
		gbs := inv * ms / 1000 * float64(fn.MemoryMB) / 1024
		lambdaRequests += inv
		gbSeconds += gbs
		b.add("Lambda", fmt.Sprintf("%s requests", fn.LogicalID), inv, "requests", inv/1e6*prices.price("lambdaRequestsPerMillion"))
		b.add("Lambda", fmt.Sprintf("%s duration (%d MB %s, %.0f ms each: its calls at assumed latencies)", fn.LogicalID, fn.MemoryMB, archName, ms), gbs, "GB-s", gbs*gbSecondPrice)
		fnLog := ownLog
		if platformLines {
			fnLog += inv * prices.Assumptions.PlatformLogBytesPerInvocation
		}
		logBytes += fnLog
		b.add("CloudWatch Logs", fmt.Sprintf("%s log ingestion", fn.LogicalID), fnLog/1e9, "GB", fnLog/1e9*prices.price("logsIngestionPerGB"))
		for k, v := range fn.Env {
			if strings.HasSuffix(k, "_SECRET_ID") && strings.TrimSpace(v) != "" {
				secretIDs[v] = true
				every := prices.Assumptions.SecretReadsEveryMinutes
				secretReads += math.Min(inv, hours*60/every)
			}
		}
	}
	if platformLines {
		b.Notes = append(b.Notes, fmt.Sprintf("Lambda's platform log lines (START/REPORT, %.0f B an invocation) are included: the system log level is INFO", prices.Assumptions.PlatformLogBytesPerInvocation))
	}

	// The endpoint.
	for _, r := range resources {
		switch r.Type {
		case "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api":
			b.add("API Gateway", "HTTP API requests", n, "requests", n/1e6*prices.price("httpApiRequestsPerMillion"))
			if samtemplate.Dig(r.Properties, "AccessLogSettings") != nil {
				bytes := n * prices.Assumptions.AccessLogBytesPerRequest
				logBytes += bytes
				b.add("CloudWatch Logs", "HTTP API access log ingestion", bytes/1e9, "GB", bytes/1e9*prices.price("logsIngestionPerGB"))
			}
		}
	}
	for _, fn := range fns {
		if fn.Env["ENDPOINT"] == "FunctionUrl" {
			b.add("Lambda", fmt.Sprintf("%s function URL (no charge beyond its invocations)", fn.LogicalID), n, "requests", 0)
		}
	}

	// Requests to AWS services, by operation.
	type agg struct{ calls, units float64 }
	ops := map[string]*agg{}
	var order []string
	addOp := func(service, op string, calls, units float64) {
		k := service + " " + op
		if ops[k] == nil {
			ops[k] = &agg{}
			order = append(order, k)
		}
		ops[k].calls += calls
		ops[k].units += units
	}
	var eventBytes float64
	for _, r := range vu.requests {
		if !deployed[strings.TrimSuffix(r.function, EventSource)] || r.service == "peerdom" {
			continue
		}
		addOp(r.service, r.operation, perWebhook(r.calls), perWebhook(r.units))
		if r.service == "events" {
			eventBytes += perWebhook(r.bytes)
		}
	}
	if deployed["functions/reconcile"] && runs > 0 {
		for _, r := range fig.Reconcile.Requests {
			if r.Service == "peerdom" {
				continue
			}
			addOp(r.Service, r.Operation, runs*float64(r.Calls), runs*float64(r.Units))
			if r.Service == "events" {
				eventBytes += runs * float64(r.Bytes)
			}
		}
	}
	slices.Sort(order)
	var sqsRequests float64
	for _, k := range order {
		a := ops[k]
		service, op, _ := strings.Cut(k, " ")
		switch service {
		case "sqs":
			sqsRequests += a.units
			b.add("SQS", op+" requests (64 KB chunks)", a.units, "requests", a.units/1e6*prices.price("sqsRequestsPerMillion"))
		case "events":
			b.add("EventBridge", op+" custom events (64 KB chunks)", a.units, "events", a.units/1e6*prices.price("eventBridgeCustomEventsPerMillion"))
		case "dynamodb":
			if op == "GetItem" || op == "Scan" || op == "Query" {
				consistency := "consistent" // the adapters' GetItem; reconcile's Scan is not (internal/state/dynamostate)
				if op == "Scan" {
					consistency = "eventually consistent"
				}
				b.add("DynamoDB", fmt.Sprintf("%s: %.0f calls, read units (on demand, %s)", op, a.calls, consistency), a.units, "RRU", a.units/1e6*prices.price("dynamoReadUnitsPerMillion"))
			} else {
				b.add("DynamoDB", fmt.Sprintf("%s: %.0f calls, write units (on demand)", op, a.calls), a.units, "WRU", a.units/1e6*prices.price("dynamoWriteUnitsPerMillion"))
			}
		}
	}
	if deployed["functions/worker"] {
		idle := prices.Assumptions.SQSIdlePollsPerMonth
		sqsRequests += idle
		b.add("SQS", "the worker's event source: idle long polls (assumed)", idle, "requests", idle/1e6*prices.price("sqsRequestsPerMillion"))
	}
	for _, r := range resources {
		if r.Type != "AWS::Events::Archive" {
			continue
		}
		gb := eventBytes / 1e9
		b.add("EventBridge", "archive: events archived", gb, "GB", gb*prices.price("eventBridgeArchivePerGB"))
		months := 12.0 // kept forever (0): priced as a year's worth
		if d, err := strconv.ParseFloat(fmt.Sprint(r.Properties["RetentionDays"]), 64); err == nil && d > 0 {
			months = d / 30
		}
		b.add("EventBridge", fmt.Sprintf("archive storage (%.0f months kept, steady state)", months), gb*months, "GB-month", gb*months*prices.price("eventBridgeArchiveStoragePerGBMonth"))
	}

	// Logs stored: a month's ingestion kept for the retention, compressed.
	retention := 30.0
	if d, err := strconv.ParseFloat(tpl.Params["LogRetentionDays"], 64); err == nil && d > 0 {
		retention = d
	}
	storedGB := logBytes / 1e9 * retention / 30 * prices.Assumptions.LogsStoredFraction
	b.add("CloudWatch Logs", fmt.Sprintf("log storage (%.0f days kept, compressed, steady state)", retention), storedGB, "GB-month", storedGB*prices.price("logsStoragePerGBMonth"))

	// Custom metrics: each (name, dimensions) is a metric, billed for the hours it has data.
	type metricUse struct{ perHour float64 }
	metricsUsed := map[string]*metricUse{}
	var metricKeys []string
	useMetric := func(key string, perMonth float64) {
		if metricsUsed[key] == nil {
			metricsUsed[key] = &metricUse{}
			metricKeys = append(metricKeys, key)
		}
		metricsUsed[key].perHour += perMonth / hours
	}
	for _, m := range vu.metrics {
		if deployed[m.function] {
			useMetric(m.name+" "+m.dimensions, perWebhook(m.datapoints))
		}
	}
	if deployed["functions/reconcile"] && runs > 0 {
		for _, m := range fig.Reconcile.Metrics {
			useMetric(m.Name+" "+m.Dimensions, runs*float64(m.Datapoints))
		}
	}
	slices.Sort(metricKeys)
	var metricMonths float64
	for _, k := range metricKeys {
		// Datapoints arrive at random moments: the share of hours with at least one.
		share := 1 - math.Exp(-metricsUsed[k].perHour)
		metricMonths += share
	}
	b.add("CloudWatch", fmt.Sprintf("custom metrics: %d, pro-rated by the hours with data", len(metricKeys)), metricMonths, "metric-months", metricMonths*prices.price("customMetricPerMonth"))

	var alarmMetrics, dashboards, secrets, ssm float64
	for _, r := range resources {
		switch r.Type {
		case "AWS::CloudWatch::Alarm":
			if ms, ok := r.Properties["Metrics"].([]any); ok {
				for _, m := range ms {
					if samtemplate.Dig(m, "MetricStat") != nil {
						alarmMetrics++
					}
				}
			} else {
				alarmMetrics++
			}
		case "AWS::CloudWatch::Dashboard":
			dashboards++
		case "AWS::SecretsManager::Secret":
			secretIDs[r.LogicalID] = true
		case "AWS::SSM::Parameter":
			ssm++
		case "AWS::Events::ApiDestination":
			b.Notes = append(b.Notes, fmt.Sprintf("%s: its invocations (0.20 USD a million) are not priced: the chat events are not in the figures", r.LogicalID))
		}
	}
	secrets = float64(len(secretIDs))
	b.add("CloudWatch", "alarm metrics (standard resolution)", alarmMetrics, "alarm metrics", alarmMetrics*prices.price("alarmMetricPerMonth"))
	b.add("CloudWatch", "dashboards", dashboards, "dashboards", dashboards*prices.price("dashboardPerMonth"))
	b.add("Secrets Manager", "secrets the functions read (the stack's and existing ones named by parameters)", secrets, "secrets", secrets*prices.price("secretPerMonth"))
	b.add("Secrets Manager", "GetSecretValue calls (at most one an invocation, and one per 5 minutes a function: an upper bound)", secretReads, "calls", secretReads/1e4*prices.price("secretsAPICallsPer10k"))
	if ssm > 0 {
		b.add("SSM Parameter Store", "standard parameters", ssm, "parameters", ssm*prices.price("ssmStandardParameterPerMonth"))
	}
	if deployed[codeWorker] && batch > 1 {
		b.Notes = append(b.Notes, fmt.Sprintf("the worker's batches: %.2f webhooks each on average (1 + the rate, %.2g a second, times the %g s batching window; at most %d)",
			batch, n/(hours*3600), mustBatching(tpl).Window, mustBatching(tpl).Size))
	}
	if runs > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("reconcile runs %.0f times a month, each over an organization of %d roles, circles and peers (measured run: no difference found)", runs, fig.Reconcile.Entities))
	}
	for _, r := range resources {
		if r.Type == "AWS::Serverless::HttpApi" || r.Type == "AWS::ApiGatewayV2::Api" {
			b.Notes = append(b.Notes, "a new account's first 12 months include 1M HTTP API requests a month: not applied here")
		}
	}
	if tpl.Params["Tracing"] == "on" {
		b.Notes = append(b.Notes, "Tracing=on: X-Ray traces are not priced here")
	}

	slices.SortStableFunc(b.Lines, func(x, y Line) int { return serviceRank(x.Service) - serviceRank(y.Service) })
	for _, l := range b.Lines {
		b.Total += l.Cost
	}
	// Free tiers, each at most what its service costs.
	credit := func(tier string, used, free, unitPrice float64) {
		if amount := math.Min(used, free) * unitPrice; amount > 0 {
			b.Credits = append(b.Credits, Credit{Tier: tier, Amount: amount})
		}
	}
	credit("Lambda: 1M requests a month", lambdaRequests, prices.Free["lambdaRequests"], prices.price("lambdaRequestsPerMillion")/1e6)
	credit("Lambda: 400,000 GB-s a month", gbSeconds, prices.Free["lambdaGBSeconds"], gbSecondPrice)
	credit("SQS: 1M requests a month", sqsRequests, prices.Free["sqsRequests"], prices.price("sqsRequestsPerMillion")/1e6)
	logsCost := 0.0
	for _, l := range b.Lines {
		if l.Service == "CloudWatch Logs" {
			logsCost += l.Cost
		}
	}
	logsGB := logBytes/1e9 + storedGB
	if logsGB > 0 {
		credit("CloudWatch Logs: 5 GB a month (ingestion and storage)", logsGB, prices.Free["logsGB"], logsCost/logsGB)
	}
	credit("CloudWatch: 10 custom metrics", metricMonths, prices.Free["customMetrics"], prices.price("customMetricPerMonth"))
	credit("CloudWatch: 10 alarm metrics", alarmMetrics, prices.Free["alarmMetrics"], prices.price("alarmMetricPerMonth"))
	credit("CloudWatch: 3 dashboards", dashboards, prices.Free["dashboards"], prices.price("dashboardPerMonth"))
	b.TotalAfterFree = b.Total
	for _, c := range b.Credits {
		b.TotalAfterFree -= c.Amount
	}
	b.TotalAfterFree = math.Max(b.TotalAfterFree, 0)
	return b, nil
}

// services is the order of the bill's sections.
var services = []string{"Lambda", "API Gateway", "SQS", "EventBridge", "DynamoDB", "CloudWatch Logs", "CloudWatch", "Secrets Manager", "SSM Parameter Store"}

func serviceRank(s string) int {
	if i := slices.Index(services, s); i >= 0 {
		return i
	}
	return len(services)
}

// Shown is params with the values of NoEcho parameters (a chat webhook URL) hidden.
func Shown(tpl *samtemplate.Template, params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if tpl.NoEcho(k) && v != "" {
			v = "(hidden: NoEcho)"
		}
		out[k] = v
	}
	return out
}

func (b *Bill) add(service, item string, qty float64, unit string, cost float64) {
	b.Lines = append(b.Lines, Line{Service: service, Item: item, Quantity: qty, Unit: unit, Cost: cost})
}

// PlatformLines reports whether Lambda writes its own platform lines (START, REPORT) to
// the functions' logs: the system log level (Globals) is INFO or finer, as by default.
func PlatformLines(tpl *samtemplate.Template) bool {
	level := strings.ToUpper(fmt.Sprint(tpl.Global("Function", "LoggingConfig", "SystemLogLevel")))
	return level != "WARN" && level != "ERROR"
}

// billedMs is a function's billed duration per invocation: a base, plus its AWS and
// Peerdom API calls per invocation (counted) at their assumed latencies.
func billedMs(p *Prices, c, reconcile use, code string) float64 {
	if code == "functions/reconcile" {
		c = reconcile
	}
	inv := c.function(code).invocations
	if inv == 0 {
		return p.Assumptions.BaseMsPerInvocation
	}
	var aws, peerdom float64
	for _, r := range c.requests {
		switch {
		case r.function != code:
		case r.service == "peerdom":
			peerdom += r.calls
		default:
			aws += r.calls
		}
	}
	return p.Assumptions.BaseMsPerInvocation + (aws*p.Assumptions.MsPerAWSCall+peerdom*p.Assumptions.MsPerPeerdomCall)/inv
}

func mustBatching(tpl *samtemplate.Template) Batching {
	b, _ := WorkerBatching(tpl)
	return b
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// runsPerMonth reads an EventBridge schedule expression: rate(...), or a cron whose
// minutes and hours fields are lists or steps (the rest every day).
func runsPerMonth(expr string, hoursPerMonth float64) (float64, error) {
	expr = strings.TrimSpace(expr)
	if m := rateExpr.FindStringSubmatch(expr); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		minutes := map[string]float64{"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}[m[2]] * v
		return hoursPerMonth * 60 / minutes, nil
	}
	if inner, ok := strings.CutPrefix(expr, "cron("); ok {
		f := strings.Fields(strings.TrimSuffix(inner, ")"))
		if len(f) == 6 && (f[2] == "*" || f[2] == "?") && (f[4] == "?" || f[4] == "*") {
			return float64(perField(f[0], 60)*perField(f[1], 24)) * hoursPerMonth / 24, nil
		}
	}
	return 0, fmt.Errorf("schedule %q: only rate(N minutes|hours|days) and daily crons are priced", expr)
}

// perField is how many values a cron minutes or hours field takes out of n.
func perField(f string, n int) int {
	switch {
	case f == "*":
		return n
	case strings.Contains(f, "/"):
		_, step, _ := strings.Cut(f, "/")
		s, err := strconv.Atoi(step)
		if err != nil || s <= 0 {
			return 1
		}
		return (n + s - 1) / s
	}
	return len(strings.Split(f, ","))
}
