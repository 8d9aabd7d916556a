package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// The two benchmarks below send b.N webhooks over loopback from loadClients concurrent
// keep-alive clients and report throughput and latency; `make bench` prints the ratio of
// their ns/op (serve against a bare net/http handler answering 200: the cost of HTTP
// itself) and their p50/p99 latencies.

const loadClients = 8

// benchBodies are the webhooks sent, in turn: every sample kind, so the load has the mix
// of a real organization's changes (some routed to actions, some not) and the actions
// run against the sandbox as they would.
func benchBodies() [][]byte {
	var bodies [][]byte
	for _, k := range webhooksamples.Kinds() {
		body, _ := webhooksamples.Body(k)
		bodies = append(bodies, body)
	}
	return bodies
}

// load posts n requests to url from loadClients goroutines and returns the latencies.
func load(b *testing.B, url string, bodies [][]byte, n int) []time.Duration {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range loadClients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				start := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[i%int64(len(bodies))]))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, n)
	}
	return lat
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report prints the latencies, the throughput, and the CPU time a webhook took (client
// and server, as they share the process): on a machine shared with other work the CPU
// figure moves far less than the wall-clock ones.
func report(b *testing.B, lat []time.Duration, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "webhooks/s")
}

// BenchmarkServeWebhooks: webhooks through serve's pipeline — ingest, the queue, the
// worker, the bus and the template's rules all running on the same cores — answered
// once queued. No action runs: what actions cost depends on the automations.
func BenchmarkServeWebhooks(b *testing.B) { benchServe(b, true) }

// BenchmarkServeWebhooksWithActions: the same with the shipped actions running against
// the sandbox (each an HTTP round trip or more, and the sandbox's webhooks back).
func BenchmarkServeWebhooksWithActions(b *testing.B) { benchServe(b, false) }

func benchServe(b *testing.B, noActions bool) {
	out := &syncBuffer{}
	opts := serveOptions{addr: "127.0.0.1:0", sandboxAddr: "127.0.0.1:0", token: "bench-token",
		template: "../../template.yaml", logLevel: "error", drainFor: time.Minute, noActions: noActions}
	s, err := startStack(context.Background(), opts, io.Discard, out)
	if err != nil {
		b.Fatal(err)
	}
	bodies := benchBodies()
	b.ResetTimer()
	cpu0 := cpuTime()
	lat := load(b, s.webhookURL, bodies, b.N)
	waitDelivered(b, s, b.N) // sustained throughput: what was accepted is also handled
	cpu := cpuTime() - cpu0
	b.StopTimer()
	report(b, lat, cpu)
	b.ReportMetric(float64(b.N)/float64(s.pipeline.Bus.Calls()), "events/put")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	if got := s.pipeline.Bus.Accepted(); got < b.N {
		b.Fatalf("%d webhooks acknowledged, %d events on the bus", b.N, got)
	}
}

// waitDelivered waits until the n webhooks are on the bus and the pipeline is idle (the
// actions done), checking often so that the wait adds little beyond the work itself.
func waitDelivered(b *testing.B, s *stack, n int) {
	deadline := time.Now().Add(time.Minute)
	for s.pipeline.Bus.Accepted() < n || !s.pipeline.Idle() {
		if time.Now().After(deadline) {
			b.Fatalf("after a minute, %d of %d webhooks on the bus", s.pipeline.Bus.Accepted(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkBaselineBareHandler: the same load against a net/http handler that reads the
// body and answers 200 with a small JSON body.
func BenchmarkBaselineBareHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"00000000-0000-4000-8000-000000000000"}`)
	}))
	defer srv.Close()
	bodies := benchBodies()
	b.ResetTimer()
	cpu0 := cpuTime()
	lat := load(b, srv.URL+"/webhooks/bench-token", bodies, b.N)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	report(b, lat, cpu)
}
