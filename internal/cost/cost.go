// Package cost prices a month of the stack that template.yaml deploys with given
// parameters: line by line, at the list prices of prices.json, from the per-webhook
// figures of figures.json that a counted run of the local pipeline measured
// (internal/cost/costrun, `make cost-figures`). `peerbridge cost` prints it.
package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
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
