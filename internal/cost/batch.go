package cost

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// codeWorker is the worker's code folder: its counts, and its event source's, depend on
// how many webhooks a batch holds.
const codeWorker = "functions/worker"

// Batching is the worker's SQS event source as the template deploys it: the most
// messages a batch takes (BatchSize) and how long the event source gathers them before
// invoking the worker (MaximumBatchingWindowInSeconds).
type Batching struct {
	Size   int
	Window float64 // seconds
}

// WorkerBatching reads the worker's SQS event source from the template (Lambda's
// defaults, 10 and 0 s, where it says nothing).
func WorkerBatching(tpl *samtemplate.Template) (Batching, error) {
	b := Batching{Size: 10}
	for _, r := range tpl.Resources() {
		if r.Type != "AWS::Serverless::Function" || path.Clean(fmt.Sprint(r.Properties["CodeUri"])) != codeWorker {
			continue
		}
		events, _ := r.Properties["Events"].(map[string]any)
		for _, ev := range events {
			if fmt.Sprint(samtemplate.Dig(ev, "Type")) != "SQS" {
				continue
			}
			if v := samtemplate.Dig(ev, "Properties", "BatchSize"); v != nil {
				n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
				if err != nil || n < 1 {
					return b, fmt.Errorf("the worker's BatchSize %v: not a positive number", v)
				}
				b.Size = n
			}
			if v := samtemplate.Dig(ev, "Properties", "MaximumBatchingWindowInSeconds"); v != nil {
				w, err := strconv.ParseFloat(strings.TrimSpace(fmt.Sprint(v)), 64)
				if err != nil || w < 0 {
					return b, fmt.Errorf("the worker's MaximumBatchingWindowInSeconds %v: not a number of seconds", v)
				}
				b.Window = w
			}
		}
	}
	return b, nil
}

// Expected is the mean number of webhooks in a worker batch at webhooksPerMonth arriving
// at random moments: the webhook that opens a batch, plus those that arrive within the
// window (rate × window), at most Size. Bursts (a bulk edit) make batches larger: this
// is the lower bound, and so the upper bound of what the worker costs.
func (b Batching) Expected(webhooksPerMonth, hoursPerMonth float64) float64 {
	if hoursPerMonth <= 0 {
		return 1
	}
	rate := webhooksPerMonth / (hoursPerMonth * 3600)
	return math.Max(1, math.Min(float64(b.Size), 1+rate*b.Window))
}

// atBatch is the per-webhook figure of a worker count at a mean batch of k webhooks,
// from the counts measured in batches of one (one) and of K (atK): a batch costs a part
// per batch (an invocation, a delete, a metric line, a PutEvents call) and a part per
// webhook (a receive, an event, a log line), so a count is a + b/k, and two measured
// batch sizes fix a and b.
func atBatch(one, atK, K int, k float64) float64 {
	if K <= 1 || k <= 1 {
		return float64(one)
	}
	return float64(atK) + float64(one-atK)*(1/k-1/float64(K))/(1-1/float64(K))
}

// use is a variant's counts per Figures.Webhooks webhooks, as numbers: the worker's at
// the batch size the bill assumes.
type use struct {
	functions map[string]fnUse
	requests  []reqUse
	metrics   []metricUse
}

type fnUse struct{ invocations, logBytes float64 }

type reqUse struct {
	function, service, operation string
	calls, units, bytes          float64
}

type metricUse struct {
	function, name, dimensions string
	datapoints                 float64
}

// usesAt is c with the worker's counts (and its event source's) taken at a mean batch of
// k webhooks from batched, the same webhooks counted in batches of K (nil: batches of
// one only, which is what c is).
func usesAt(c Counts, batched *Counts, K int, k float64) use {
	worker := func(fn string) bool { return batched != nil && strings.HasPrefix(fn, codeWorker) }
	u := use{functions: map[string]fnUse{}}
	for _, f := range c.Functions {
		v := fnUse{float64(f.Invocations), float64(f.LogBytes)}
		if worker(f.Code) {
			b := batched.Function(f.Code)
			v = fnUse{atBatch(f.Invocations, b.Invocations, K, k), atBatch(f.LogBytes, b.LogBytes, K, k)}
		}
		u.functions[f.Code] = v
	}
	for _, r := range c.Requests {
		v := reqUse{r.Function, r.Service, r.Operation, float64(r.Calls), float64(r.Units), float64(r.Bytes)}
		if worker(r.Function) {
			var b RequestCount
			for _, x := range batched.Requests {
				if x.Function == r.Function && x.Service == r.Service && x.Operation == r.Operation {
					b = x
				}
			}
			v.calls, v.units, v.bytes = atBatch(r.Calls, b.Calls, K, k), atBatch(r.Units, b.Units, K, k), atBatch(r.Bytes, b.Bytes, K, k)
		}
		u.requests = append(u.requests, v)
	}
	for _, m := range c.Metrics {
		v := metricUse{m.Function, m.Name, m.Dimensions, float64(m.Datapoints)}
		if worker(m.Function) {
			var b MetricCount
			for _, x := range batched.Metrics {
				if x.Function == m.Function && x.Name == m.Name && x.Dimensions == m.Dimensions {
					b = x
				}
			}
			v.datapoints = atBatch(m.Datapoints, b.Datapoints, K, k)
		}
		u.metrics = append(u.metrics, v)
	}
	return u
}

func (u use) function(code string) fnUse { return u.functions[code] }

// PerMillion is what a million webhooks more a month cost at volume (a million a month,
// the worker's batches as Estimate takes them at that rate): the bill at a million less
// the bill at none, without CloudWatch's custom metrics, alarms and dashboards (at
// volume each metric is billed a whole month whatever the count: a fixed cost).
// logBytes is what the functions, the platform and the endpoint's access log write a
// webhook.
func PerMillion(tpl *samtemplate.Template, fig *Figures, prices *Prices) (usd, logBytes float64, err error) {
	const n = 1_000_000
	batching, err := WorkerBatching(tpl)
	if err != nil {
		return 0, 0, err
	}
	k := batching.Expected(n, prices.Assumptions.HoursPerMonth)
	at, err := EstimateAt(tpl, fig, prices, n, k)
	if err != nil {
		return 0, 0, err
	}
	none, err := EstimateAt(tpl, fig, prices, 0, k)
	if err != nil {
		return 0, 0, err
	}
	sum := func(b *Bill) (usd, logGB float64) {
		for _, l := range b.Lines {
			if l.Service == "CloudWatch" {
				continue
			}
			usd += l.Cost
			if l.Service == "CloudWatch Logs" && l.Unit == "GB" {
				logGB += l.Quantity
			}
		}
		return usd, logGB
	}
	a, aLog := sum(at)
	z, zLog := sum(none)
	return a - z, (aLog - zLog) * 1e9 / n, nil
}
