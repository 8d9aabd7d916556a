package cost

import (
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

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
// invocation (1: each webhook its own batch). The bill is written a group of lines at a
// time, in the order its notes are read; the lines are then sorted by service.
func EstimateAt(tpl *samtemplate.Template, fig *Figures, prices *Prices, webhooksPerMonth int, batch float64) (*Bill, error) {
	p, err := newPricing(tpl, fig, prices, webhooksPerMonth, batch)
	if err != nil {
		return nil, err
	}
	p.functions()
	p.endpoint()
	p.requests()
	p.workerPolls()
	p.archive()
	p.logStorage()
	p.customMetrics()
	p.alarmsAndDashboards()
	p.secrets()
	p.parameters()
	p.notes()
	p.total()
	p.freeTiers()
	return p.b, nil
}

// pricing is a bill being written: what it is priced from, and the month's totals the
// free tiers are taken from.
type pricing struct {
	tpl       *samtemplate.Template
	fig       *Figures
	prices    *Prices
	b         *Bill
	n         float64 // webhooks a month
	batch     float64 // the worker's mean batch
	hours     float64 // a month
	vu, ru    use     // the variant's counts, reconcile's run's
	fns       []samtemplate.Function
	resources []samtemplate.Resource
	deployed  map[string]bool // by code folder
	runs      float64         // reconcile's runs a month

	gbSecondPrice float64 // of the functions' architecture
	archName      string

	// The month's totals.
	lambdaRequests, gbSeconds float64
	logBytes, storedGB        float64 // ingested, and stored (GB-months)
	eventBytes                float64 // put on the bus
	sqsRequests               float64
	metricMonths              float64
	alarmMetrics, dashboards  float64
	secretIDs                 map[string]bool
	secretReads               float64
}

func newPricing(tpl *samtemplate.Template, fig *Figures, prices *Prices, webhooksPerMonth int, batch float64) (*pricing, error) {
	variant, err := fig.Variant(tpl.Params)
	if err != nil {
		return nil, err
	}
	fns, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	p := &pricing{
		tpl: tpl, fig: fig, prices: prices, n: float64(webhooksPerMonth), batch: batch, hours: prices.Assumptions.HoursPerMonth,
		b:   &Bill{WebhooksPerMonth: webhooksPerMonth, Params: Shown(tpl, tpl.Params), PricesDate: prices.Date, FiguresDate: fig.Measured},
		vu:  usesAt(variant.Counts, variant.Batched, fig.WorkerBatch, batch),
		ru:  usesAt(fig.Reconcile.Counts, nil, 0, 1),
		fns: fns, resources: tpl.Resources(), deployed: map[string]bool{}, secretIDs: map[string]bool{},
	}
	if p.runs, err = scheduledRuns(p.resources, p.hours); err != nil {
		return nil, err
	}
	for _, fn := range fns {
		p.deployed[path.Clean(fn.CodeURI)] = true
	}
	p.gbSecondPrice, p.archName = prices.price("lambdaGBSecondArm64"), "arm64"
	if !strings.Contains(fmt.Sprint(tpl.Global("Function", "Architectures")), "arm64") {
		p.gbSecondPrice, p.archName = prices.price("lambdaGBSecondX86"), "x86_64"
	}
	return p, nil
}

// scheduledRuns is how many times a month the template's schedules (reconcile's) run.
func scheduledRuns(resources []samtemplate.Resource, hours float64) (float64, error) {
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
			return 0, fmt.Errorf("%s: %w", r.LogicalID, err)
		}
		runs += per
	}
	return runs, nil
}

// perWebhook scales a figure measured over the figures' webhooks to the month's.
func (p *pricing) perWebhook(v float64) float64 { return v * p.n / float64(p.fig.Webhooks) }

// functions prices each function's month: its requests and duration (Lambda) and what
// it writes to its log group (CloudWatch Logs); and counts its secret reads.
func (p *pricing) functions() {
	platformLines := PlatformLines(p.tpl)
	for _, fn := range p.fns {
		code := path.Clean(fn.CodeURI)
		inv, ownLog := p.invocations(fn)
		ms := billedMs(p.prices, p.vu, p.ru, code)
		gbs := inv * ms / 1000 * float64(fn.MemoryMB) / 1024
		p.lambdaRequests += inv
		p.gbSeconds += gbs
		p.b.add("Lambda", fmt.Sprintf("%s requests", fn.LogicalID), inv, "requests", inv/1e6*p.prices.price("lambdaRequestsPerMillion"))
		p.b.add("Lambda", fmt.Sprintf("%s duration (%d MB %s, %.0f ms each: its calls at assumed latencies)", fn.LogicalID, fn.MemoryMB, p.archName, ms), gbs, "GB-s", gbs*p.gbSecondPrice)
		fnLog := ownLog
		if platformLines {
			fnLog += inv * p.prices.Assumptions.PlatformLogBytesPerInvocation
		}
		p.logBytes += fnLog
		p.b.add("CloudWatch Logs", fmt.Sprintf("%s log ingestion", fn.LogicalID), fnLog/1e9, "GB", fnLog/1e9*p.prices.price("logsIngestionPerGB"))
		p.readsSecrets(fn, inv)
	}
	if platformLines {
		p.b.Notes = append(p.b.Notes, fmt.Sprintf("Lambda's platform log lines (START/REPORT, %.0f B an invocation) are included: the system log level is INFO", p.prices.Assumptions.PlatformLogBytesPerInvocation))
	}
}

// invocations are a function's invocations a month and the bytes of its own log lines:
// reconcile's from its runs, the others' from the webhooks.
func (p *pricing) invocations(fn samtemplate.Function) (inv, ownLog float64) {
	code := path.Clean(fn.CodeURI)
	if code == "functions/reconcile" {
		return p.runs * float64(max(p.fig.Reconcile.Function(code).Invocations, 1)), p.runs * float64(p.fig.Reconcile.Function(code).LogBytes)
	}
	fc := p.vu.function(code)
	if fc.invocations == 0 {
		p.b.Notes = append(p.b.Notes, fmt.Sprintf("%s (%s): no figures measured; priced at zero", fn.LogicalID, code))
	}
	return p.perWebhook(fc.invocations), p.perWebhook(fc.logBytes)
}

// readsSecrets counts the secrets fn reads (its *_SECRET_ID variables) and its reads of
// them: at most one an invocation, and one each SecretReadsEveryMinutes.
func (p *pricing) readsSecrets(fn samtemplate.Function, inv float64) {
	for k, v := range fn.Env {
		if strings.HasSuffix(k, "_SECRET_ID") && strings.TrimSpace(v) != "" {
			p.secretIDs[v] = true
			every := p.prices.Assumptions.SecretReadsEveryMinutes
			p.secretReads += math.Min(inv, p.hours*60/every)
		}
	}
}

// endpoint prices the webhook endpoint: the HTTP API's requests and access log, or a
// function URL (free).
func (p *pricing) endpoint() {
	for _, r := range p.resources {
		if isHTTPAPI(r) {
			p.b.add("API Gateway", "HTTP API requests", p.n, "requests", p.n/1e6*p.prices.price("httpApiRequestsPerMillion"))
			if samtemplate.Dig(r.Properties, "AccessLogSettings") != nil {
				bytes := p.n * p.prices.Assumptions.AccessLogBytesPerRequest
				p.logBytes += bytes
				p.b.add("CloudWatch Logs", "HTTP API access log ingestion", bytes/1e9, "GB", bytes/1e9*p.prices.price("logsIngestionPerGB"))
			}
		}
	}
	for _, fn := range p.fns {
		if fn.Env["ENDPOINT"] == "FunctionUrl" {
			p.b.add("Lambda", fmt.Sprintf("%s function URL (no charge beyond its invocations)", fn.LogicalID), p.n, "requests", 0)
		}
	}
}

func isHTTPAPI(r samtemplate.Resource) bool {
	return r.Type == "AWS::Serverless::HttpApi" || r.Type == "AWS::ApiGatewayV2::Api"
}

// operation is a month's calls of one AWS operation and the units they bill.
type operation struct {
	service, name string
	calls, units  float64
}

// operations are the month's requests to AWS services by operation, sorted (the
// webhooks' and reconcile's runs'; Peerdom's calls are not AWS's); and it sums the bytes
// put on the event bus.
func (p *pricing) operations() []*operation {
	ops := map[string]*operation{}
	add := func(service, op string, calls, units, bytes float64) {
		k := service + " " + op
		if ops[k] == nil {
			ops[k] = &operation{service: service, name: op}
		}
		ops[k].calls += calls
		ops[k].units += units
		if service == "events" {
			p.eventBytes += bytes
		}
	}
	for _, r := range p.vu.requests {
		if !p.deployed[strings.TrimSuffix(r.function, EventSource)] || r.service == "peerdom" {
			continue
		}
		add(r.service, r.operation, p.perWebhook(r.calls), p.perWebhook(r.units), p.perWebhook(r.bytes))
	}
	if p.deployed["functions/reconcile"] && p.runs > 0 {
		for _, r := range p.fig.Reconcile.Requests {
			if r.Service == "peerdom" {
				continue
			}
			add(r.Service, r.Operation, p.runs*float64(r.Calls), p.runs*float64(r.Units), p.runs*float64(r.Bytes))
		}
	}
	var out []*operation
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		out = append(out, ops[k])
	}
	return out
}

// requests prices the requests to SQS, EventBridge and DynamoDB.
func (p *pricing) requests() {
	for _, a := range p.operations() {
		switch a.service {
		case "sqs":
			p.sqsRequests += a.units
			p.b.add("SQS", a.name+" requests (64 KB chunks)", a.units, "requests", a.units/1e6*p.prices.price("sqsRequestsPerMillion"))
		case "events":
			p.b.add("EventBridge", a.name+" custom events (64 KB chunks)", a.units, "events", a.units/1e6*p.prices.price("eventBridgeCustomEventsPerMillion"))
		case "dynamodb":
			p.dynamoDB(a)
		}
	}
}

// dynamoDB prices one DynamoDB operation's capacity units, on demand.
func (p *pricing) dynamoDB(a *operation) {
	if a.name == "GetItem" || a.name == "Scan" || a.name == "Query" {
		consistency := "consistent" // the adapters' GetItem; reconcile's Scan is not (internal/state/dynamostate)
		if a.name == "Scan" {
			consistency = "eventually consistent"
		}
		p.b.add("DynamoDB", fmt.Sprintf("%s: %.0f calls, read units (on demand, %s)", a.name, a.calls, consistency), a.units, "RRU", a.units/1e6*p.prices.price("dynamoReadUnitsPerMillion"))
		return
	}
	p.b.add("DynamoDB", fmt.Sprintf("%s: %.0f calls, write units (on demand)", a.name, a.calls), a.units, "WRU", a.units/1e6*p.prices.price("dynamoWriteUnitsPerMillion"))
}

// workerPolls prices the long polls the worker's event source makes while the queue is
// empty (assumed: they are not in the figures).
func (p *pricing) workerPolls() {
	if !p.deployed["functions/worker"] {
		return
	}
	idle := p.prices.Assumptions.SQSIdlePollsPerMonth
	p.sqsRequests += idle
	p.b.add("SQS", "the worker's event source: idle long polls (assumed)", idle, "requests", idle/1e6*p.prices.price("sqsRequestsPerMillion"))
}

// archive prices the event archive: the month's events archived, and their storage for
// the retention.
func (p *pricing) archive() {
	for _, r := range p.resources {
		if r.Type != "AWS::Events::Archive" {
			continue
		}
		gb := p.eventBytes / 1e9
		p.b.add("EventBridge", "archive: events archived", gb, "GB", gb*p.prices.price("eventBridgeArchivePerGB"))
		months := 12.0 // kept forever (0): priced as a year's worth
		if d, err := strconv.ParseFloat(fmt.Sprint(r.Properties["RetentionDays"]), 64); err == nil && d > 0 {
			months = d / 30
		}
		p.b.add("EventBridge", fmt.Sprintf("archive storage (%.0f months kept, steady state)", months), gb*months, "GB-month", gb*months*p.prices.price("eventBridgeArchiveStoragePerGBMonth"))
	}
}

// logStorage prices the logs stored: a month's ingestion kept for the retention,
// compressed.
func (p *pricing) logStorage() {
	retention := 30.0
	if d, err := strconv.ParseFloat(p.tpl.Params["LogRetentionDays"], 64); err == nil && d > 0 {
		retention = d
	}
	p.storedGB = p.logBytes / 1e9 * retention / 30 * p.prices.Assumptions.LogsStoredFraction
	p.b.add("CloudWatch Logs", fmt.Sprintf("log storage (%.0f days kept, compressed, steady state)", retention), p.storedGB, "GB-month", p.storedGB*p.prices.price("logsStoragePerGBMonth"))
}

// customMetrics prices the custom metrics: each (name, dimensions) is a metric, billed
// for the hours it has data.
func (p *pricing) customMetrics() {
	perHour := map[string]float64{}
	use := func(key string, perMonth float64) { perHour[key] += perMonth / p.hours }
	for _, m := range p.vu.metrics {
		if p.deployed[m.function] {
			use(m.name+" "+m.dimensions, p.perWebhook(m.datapoints))
		}
	}
	if p.deployed["functions/reconcile"] && p.runs > 0 {
		for _, m := range p.fig.Reconcile.Metrics {
			use(m.Name+" "+m.Dimensions, p.runs*float64(m.Datapoints))
		}
	}
	keys := slices.Sorted(maps.Keys(perHour))
	for _, k := range keys {
		// Datapoints arrive at random moments: the share of hours with at least one.
		p.metricMonths += 1 - math.Exp(-perHour[k])
	}
	p.b.add("CloudWatch", fmt.Sprintf("custom metrics: %d, pro-rated by the hours with data", len(keys)), p.metricMonths, "metric-months", p.metricMonths*p.prices.price("customMetricPerMonth"))
}

// alarmsAndDashboards prices the alarms, by the metrics each watches, and the
// dashboards.
func (p *pricing) alarmsAndDashboards() {
	for _, r := range p.resources {
		switch r.Type {
		case "AWS::CloudWatch::Alarm":
			p.alarmMetrics += alarmMetrics(r)
		case "AWS::CloudWatch::Dashboard":
			p.dashboards++
		}
	}
	p.b.add("CloudWatch", "alarm metrics (standard resolution)", p.alarmMetrics, "alarm metrics", p.alarmMetrics*p.prices.price("alarmMetricPerMonth"))
	p.b.add("CloudWatch", "dashboards", p.dashboards, "dashboards", p.dashboards*p.prices.price("dashboardPerMonth"))
}

// alarmMetrics is how many metrics an alarm watches: one, or each MetricStat of its
// metric math.
func alarmMetrics(r samtemplate.Resource) float64 {
	ms, ok := r.Properties["Metrics"].([]any)
	if !ok {
		return 1
	}
	n := 0.0
	for _, m := range ms {
		if samtemplate.Dig(m, "MetricStat") != nil {
			n++
		}
	}
	return n
}

// secrets prices the secrets the functions read (the stack's own and those named by
// parameters) and the reads.
func (p *pricing) secrets() {
	for _, r := range p.resources {
		if r.Type == "AWS::SecretsManager::Secret" {
			p.secretIDs[r.LogicalID] = true
		}
	}
	secrets := float64(len(p.secretIDs))
	p.b.add("Secrets Manager", "secrets the functions read (the stack's and existing ones named by parameters)", secrets, "secrets", secrets*p.prices.price("secretPerMonth"))
	p.b.add("Secrets Manager", "GetSecretValue calls (at most one an invocation, and one per 5 minutes a function: an upper bound)", p.secretReads, "calls", p.secretReads/1e4*p.prices.price("secretsAPICallsPer10k"))
}

// parameters prices the stack's SSM parameters, if it has any.
func (p *pricing) parameters() {
	ssm := 0.0
	for _, r := range p.resources {
		if r.Type == "AWS::SSM::Parameter" {
			ssm++
		}
	}
	if ssm > 0 {
		p.b.add("SSM Parameter Store", "standard parameters", ssm, "parameters", ssm*p.prices.price("ssmStandardParameterPerMonth"))
	}
}

// notes says what is not priced, and what the bill assumes of the worker's batches and
// of reconcile.
func (p *pricing) notes() {
	for _, r := range p.resources {
		if r.Type == "AWS::Events::ApiDestination" {
			p.b.Notes = append(p.b.Notes, fmt.Sprintf("%s: its invocations (0.20 USD a million) are not priced: the chat events are not in the figures", r.LogicalID))
		}
	}
	if p.deployed[codeWorker] && p.batch > 1 {
		p.b.Notes = append(p.b.Notes, fmt.Sprintf("the worker's batches: %.2f webhooks each on average (1 + the rate, %.2g a second, times the %g s batching window; at most %d)",
			p.batch, p.n/(p.hours*3600), mustBatching(p.tpl).Window, mustBatching(p.tpl).Size))
	}
	if p.runs > 0 {
		p.b.Notes = append(p.b.Notes, fmt.Sprintf("reconcile runs %.0f times a month, each over an organization of %d roles, circles and peers (measured run: no difference found)", p.runs, p.fig.Reconcile.Entities))
	}
	for _, r := range p.resources {
		if isHTTPAPI(r) {
			p.b.Notes = append(p.b.Notes, "a new account's first 12 months include 1M HTTP API requests a month: not applied here")
		}
	}
	if p.tpl.Params["Tracing"] == "on" {
		p.b.Notes = append(p.b.Notes, "Tracing=on: X-Ray traces are not priced here")
	}
}

// total sorts the lines by service and sums them.
func (p *pricing) total() {
	slices.SortStableFunc(p.b.Lines, func(x, y Line) int { return serviceRank(x.Service) - serviceRank(y.Service) })
	for _, l := range p.b.Lines {
		p.b.Total += l.Cost
	}
}

// freeTiers applies the free tiers, each at most what its service costs, and the total
// after them.
func (p *pricing) freeTiers() {
	b, prices := p.b, p.prices
	credit := func(tier string, used, free, unitPrice float64) {
		if amount := math.Min(used, free) * unitPrice; amount > 0 {
			b.Credits = append(b.Credits, Credit{Tier: tier, Amount: amount})
		}
	}
	credit("Lambda: 1M requests a month", p.lambdaRequests, prices.Free["lambdaRequests"], prices.price("lambdaRequestsPerMillion")/1e6)
	credit("Lambda: 400,000 GB-s a month", p.gbSeconds, prices.Free["lambdaGBSeconds"], p.gbSecondPrice)
	credit("SQS: 1M requests a month", p.sqsRequests, prices.Free["sqsRequests"], prices.price("sqsRequestsPerMillion")/1e6)
	logsCost := 0.0
	for _, l := range b.Lines {
		if l.Service == "CloudWatch Logs" {
			logsCost += l.Cost
		}
	}
	if logsGB := p.logBytes/1e9 + p.storedGB; logsGB > 0 {
		credit("CloudWatch Logs: 5 GB a month (ingestion and storage)", logsGB, prices.Free["logsGB"], logsCost/logsGB)
	}
	credit("CloudWatch: 10 custom metrics", p.metricMonths, prices.Free["customMetrics"], prices.price("customMetricPerMonth"))
	credit("CloudWatch: 10 alarm metrics", p.alarmMetrics, prices.Free["alarmMetrics"], prices.price("alarmMetricPerMonth"))
	credit("CloudWatch: 3 dashboards", p.dashboards, prices.Free["dashboards"], prices.price("dashboardPerMonth"))
	b.TotalAfterFree = b.Total
	for _, c := range b.Credits {
		b.TotalAfterFree -= c.Amount
	}
	b.TotalAfterFree = math.Max(b.TotalAfterFree, 0)
}
