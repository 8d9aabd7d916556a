package ingest

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Both benchmarks below handle every corpus webhook once per op, so their ns/op compare
// directly; `make bench` prints IngestHandler's ratio to IngestBaseline (target ≤ 2).

// discardQueue accepts every message and keeps none: the benchmark measures ingest, not
// a queue.
type discardQueue struct{ n int }

func (q *discardQueue) Send(_ context.Context, body string) error { q.n += len(body); return nil }

func benchRequests(b *testing.B) []events.APIGatewayV2HTTPRequest {
	var reqs []events.APIGatewayV2HTTPRequest
	for _, c := range corpus.Load(b) {
		req := events.APIGatewayV2HTTPRequest{
			RawPath:        "/webhooks/" + goodToken,
			PathParameters: map[string]string{"token": goodToken},
			Headers:        map[string]string{"content-type": "application/json", "user-agent": "Peerdom-Webhooks/1.0"},
			Body:           string(c.Body),
		}
		req.RequestContext.RequestID = "Jk3sZhVuIAMEbXw="
		req.RequestContext.HTTP.Method = http.MethodPost
		req.RequestContext.HTTP.SourceIP = "203.0.113.9"
		req.RequestContext.HTTP.UserAgent = "Peerdom-Webhooks/1.0"
		reqs = append(reqs, req)
	}
	return reqs
}

// baseline is the least any ingest must do: decode the webhook body, build the event
// to know its size, and encode the envelope.
func baseline(reqs []events.APIGatewayV2HTTPRequest, q *discardQueue) {
	for _, req := range reqs {
		w, err := peerdom.DecodeWebhook([]byte(req.Body))
		if err != nil {
			panic(err)
		}
		d := peerdom.NewDelivery(req.RequestContext.RequestID, time.Now(), w.Text,
			peerdom.Sender{Address: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent})
		entry, err := busentry.FromDelivery("", d)
		if err != nil {
			panic(err)
		}
		s, err := EncodeDelivery(d)
		if err != nil {
			panic(err)
		}
		q.n += len(s) + entry.Size()
	}
}

func benchHandler(b *testing.B) (*Handler, *discardQueue) {
	tokens, err := NewTokens([]string{rotatedToken, goodToken})
	if err != nil {
		b.Fatal(err)
	}
	q := &discardQueue{}
	// Logging at info, as deployed: one JSON line per request.
	return &Handler{Tokens: tokens, Queue: q, Logger: logging.New(io.Discard, "info")}, q
}

// BenchmarkIngestHandler is the whole Lambda handler per corpus webhook: the API Gateway
// conversion, method, token, body checks, the event's size, envelope, queue (a no-op
// here), response and log line.
func BenchmarkIngestHandler(b *testing.B) {
	reqs := benchRequests(b)
	h, _ := benchHandler(b)
	ctx := context.Background()
	run := func() {
		for _, req := range reqs {
			if resp, _ := h.HandleAPIGateway(ctx, req); resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	handlerAllocs := testing.AllocsPerRun(20, run)
	baseAllocs := testing.AllocsPerRun(20, func() { baseline(reqs, &discardQueue{}) })
	b.ReportMetric(handlerAllocs/float64(len(reqs)), "allocs/request")
	b.ReportMetric(handlerAllocs/baseAllocs, "allocs-x-baseline")
}

// BenchmarkIngestBaseline is decoding the same bodies, building their events and encoding
// their envelopes only.
func BenchmarkIngestBaseline(b *testing.B) {
	reqs := benchRequests(b)
	q := &discardQueue{}
	b.ReportAllocs()
	for b.Loop() {
		baseline(reqs, q)
	}
}
