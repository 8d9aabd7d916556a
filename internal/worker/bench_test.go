package worker

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// The benchmarks below process the corpus's ten messages once per op, so their ns/op
// compare directly. `make bench` prints WorkerBatch's ratio to WorkerBaselineParse (the
// issue's target: ≤ 2) and to WorkerBaselineCodec, which adds the envelope decoding and
// detail encoding of pkg/peerdom that any worker must do: that second ratio is the cost
// of the worker's own part (batching, publishing, the response and the log lines).

// acceptingBus accepts every entry and keeps none: the benchmark measures the worker,
// not a bus.
type acceptingBus struct {
	results [bus.MaxEntriesPerPut]bus.Result
}

func (a *acceptingBus) PutEvents(_ context.Context, entries []bus.Entry) ([]bus.Result, error) {
	for i := range entries {
		a.results[i].EventID = "7f1a0b2c-0000-4000-8000-000000000000"
	}
	return a.results[:len(entries)], nil
}

func benchBatch(b testing.TB) (events.SQSEvent, []string) {
	var ev events.SQSEvent
	var texts []string
	for i, c := range corpus.Load(b) {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:  fmt.Sprintf("0a6f0e3e-0000-4000-8000-%012d", i),
			Body:       envelope(b, fmt.Sprintf("Jk3sZhVuIAMEbX%02d", i), c.Text),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
		})
		texts = append(texts, c.Text)
	}
	if len(ev.Records) > bus.MaxEntriesPerPut {
		ev.Records = ev.Records[:bus.MaxEntriesPerPut]
		texts = texts[:bus.MaxEntriesPerPut]
	}
	return ev, texts
}

// BenchmarkWorkerBatch is the handler on one SQS batch of the corpus messages: decode
// the envelopes, parse, encode the details, one put, the partial batch response and one
// log line per message.
func BenchmarkWorkerBatch(b *testing.B) {
	ev, texts := benchBatch(b)
	h := &Handler{Bus: &acceptingBus{}, Source: "peerdom", Logger: logging.New(io.Discard, "info")}
	ctx := context.Background()
	run := func() {
		if resp, _ := h.HandleSQS(ctx, ev); len(resp.BatchItemFailures) != 0 {
			b.Fatalf("failures: %v", resp.BatchItemFailures)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	allocs := testing.AllocsPerRun(20, run)
	base := testing.AllocsPerRun(20, func() { parseAll(texts) })
	b.ReportMetric(allocs/float64(len(ev.Records)), "allocs/message")
	b.ReportMetric(allocs/base, "allocs-x-baseline")
}

// BenchmarkWorkerBatchInvocation is BenchmarkWorkerBatch with an invocation deadline,
// as in Lambda: the events are built on a goroutine of their own, each message within
// its share of the time (Handler.buildWithin). The difference to BenchmarkWorkerBatch is
// that guard's cost.
func BenchmarkWorkerBatchInvocation(b *testing.B) {
	ev, _ := benchBatch(b)
	h := &Handler{Bus: &acceptingBus{}, Source: "peerdom", Logger: logging.New(io.Discard, "info")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h.HandleSQS(ctx, ev); len(resp.BatchItemFailures) != 0 {
			b.Fatalf("failures: %v", resp.BatchItemFailures)
		}
	}
}

func parseAll(texts []string) int {
	n := 0
	for _, t := range texts {
		d := peerdom.Parse(t)
		n += len(d.Fields)
	}
	return n
}

// BenchmarkWorkerBaselineCodec is, per message, what no worker can skip: decode the
// envelope, parse, encode the detail (pkg/peerdom's functions, as the worker uses them).
func BenchmarkWorkerBaselineCodec(b *testing.B) {
	ev, _ := benchBatch(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range ev.Records {
			d, err := peerdom.DecodeDelivery([]byte(r.Body))
			if err != nil {
				b.Fatal(err)
			}
			e := peerdom.NewEvent("peerdom", d)
			if _, err := e.Detail.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWorkerBaselineParse is only parsing the same texts.
func BenchmarkWorkerBaselineParse(b *testing.B) {
	_, texts := benchBatch(b)
	b.ReportAllocs()
	for b.Loop() {
		parseAll(texts)
	}
}
