package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Figures are what a counted run of the local pipeline measured (internal/cost/costrun,
// `make cost-figures`): totals for Webhooks webhooks of the corpus mix, one set per
// combination of the parameters that change what the functions write (VariantParams).
type Figures struct {
	Measured string `json:"measured"` // the date of the run
	How      string `json:"how"`
	Webhooks int    `json:"webhooks"` // the webhooks each variant's totals are for
	// WorkerBatch is the batch size of each variant's Batched counts.
	WorkerBatch int       `json:"workerBatch,omitempty"`
	Variants    []Variant `json:"variants"`
	// Reconcile is one scheduled reconciliation run that finds no difference, over an
	// organization of Entities roles, circles and peers.
	Reconcile ReconcileRun `json:"reconcile"`
}

// VariantParams are the template parameters whose values change the functions' log
// lines or metrics: each variant of the figures was measured with one combination.
var VariantParams = []string{"LogLevel", "Metrics"}

// Variant is the totals measured with Params.
type Variant struct {
	Params map[string]string `json:"params"`
	Counts
	// Batched are the worker's counts (and its event source's) for the same webhooks
	// arriving in batches of Figures.WorkerBatch; Counts are in batches of one. The bill
	// takes the worker's figures at the batch size it assumes from both (atBatch).
	Batched *Counts `json:"batched,omitempty"`
}

// Counts are what a run did, by function (its code folder, e.g. "functions/ingest").
type Counts struct {
	Functions []FunctionCount `json:"functions"`
	Requests  []RequestCount  `json:"requests"`
	Metrics   []MetricCount   `json:"metrics"`
}

// FunctionCount is one function's invocations and what it wrote to its log group.
type FunctionCount struct {
	Code        string `json:"code"`
	Invocations int    `json:"invocations"`
	LogLines    int    `json:"logLines"`
	LogBytes    int    `json:"logBytes"`
}

// EventSource marks, after a function's code folder, the requests Lambda's event source
// mapping makes for the function (SQS receives and deletes): billed, but not part of the
// function's duration.
const EventSource = "#event-source"

// RequestCount is a function's calls of one AWS operation. Units are what the operation
// bills by: 64 KB chunks for SQS and EventBridge (EventBridge: of each entry), capacity
// units for DynamoDB. Bytes are the payload (messages, event entries, items written).
type RequestCount struct {
	Function  string `json:"function"`
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Calls     int    `json:"calls"`
	Units     int    `json:"units"`
	Bytes     int    `json:"bytes"`
}

// MetricCount is one custom metric (name and dimension values, as CloudWatch tells
// metrics apart) and how many datapoints (EMF lines) recorded it.
type MetricCount struct {
	Function   string `json:"function"` // the code folder of the function writing it
	Name       string `json:"name"`
	Dimensions string `json:"dimensions,omitempty"` // "Action=enrich"; empty: undimensioned
	Datapoints int    `json:"datapoints"`
}

// ReconcileRun is one reconciliation run's counts.
type ReconcileRun struct {
	Entities int `json:"entities"`
	Counts
}

//go:embed figures.json
var figuresJSON []byte

// Measured returns the figures in the repository (figures.json).
func Measured() (*Figures, error) {
	var f Figures
	if err := json.Unmarshal(figuresJSON, &f); err != nil {
		return nil, fmt.Errorf("internal/cost/figures.json: %w", err)
	}
	return &f, nil
}

// VariantKey names a combination of VariantParams values, e.g. "LogLevel=info".
func VariantKey(params map[string]string) string {
	var parts []string
	for _, p := range VariantParams {
		if v, ok := params[p]; ok {
			parts = append(parts, p+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// Variant is the variant measured with the given template parameters (only
// VariantParams are compared).
func (f *Figures) Variant(params map[string]string) (*Variant, error) {
	key := VariantKey(params)
	var known []string
	for i := range f.Variants {
		k := VariantKey(f.Variants[i].Params)
		if k == key {
			return &f.Variants[i], nil
		}
		known = append(known, k)
	}
	return nil, fmt.Errorf("no figures measured for %s (measured: %s); run make cost-figures", key, strings.Join(known, "; "))
}

// Scaled is c for n webhooks instead of from: every count times n/from, rounded.
func (c Counts) Scaled(n, from int) Counts {
	s := func(v int) int { return int((int64(v)*int64(n) + int64(from)/2) / int64(from)) }
	var out Counts
	for _, f := range c.Functions {
		out.Functions = append(out.Functions, FunctionCount{f.Code, s(f.Invocations), s(f.LogLines), s(f.LogBytes)})
	}
	for _, r := range c.Requests {
		out.Requests = append(out.Requests, RequestCount{r.Function, r.Service, r.Operation, s(r.Calls), s(r.Units), s(r.Bytes)})
	}
	for _, m := range c.Metrics {
		out.Metrics = append(out.Metrics, MetricCount{m.Function, m.Name, m.Dimensions, s(m.Datapoints)})
	}
	return out
}

// Sort puts the counts in a fixed order.
func (c *Counts) Sort() {
	slices.SortFunc(c.Functions, func(a, b FunctionCount) int { return strings.Compare(a.Code, b.Code) })
	slices.SortFunc(c.Requests, func(a, b RequestCount) int {
		return strings.Compare(a.Function+" "+a.Service+" "+a.Operation, b.Function+" "+b.Service+" "+b.Operation)
	})
	slices.SortFunc(c.Metrics, func(a, b MetricCount) int {
		return strings.Compare(a.Function+" "+a.Name+" "+a.Dimensions, b.Function+" "+b.Name+" "+b.Dimensions)
	})
}

// Function is the counts of the function with code folder code (zero when none).
func (c Counts) Function(code string) FunctionCount {
	for _, f := range c.Functions {
		if f.Code == code {
			return f
		}
	}
	return FunctionCount{Code: code}
}

// Codes are the code folders the counts name, sorted.
func (c Counts) Codes() []string {
	set := map[string]bool{}
	for _, f := range c.Functions {
		set[f.Code] = true
	}
	for _, r := range c.Requests {
		set[r.Function] = true
	}
	return slices.Sorted(maps.Keys(set))
}
