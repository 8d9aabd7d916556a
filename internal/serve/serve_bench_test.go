package serve

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

// BenchmarkServeWebhooks and BenchmarkServeWebhooksWithActions send webhooks over
// loopback from loadClients concurrent keep-alive clients, alternately to serve and to a
// bare net/http handler answering 200 (the cost of HTTP itself, the baseline), in chunks
// of chunkSize, so that both see the machine at the same moment: on shared cores its
// speed swings by tens of percent within seconds, and two benchmarks run seconds apart
// gave ratios from 0.35 to 1.34. `make bench` judges bare-µs/serve-µs, serve's
// throughput as a share of the bare handler's.

const (
	loadClients = 8
	chunkSize   = 500 // webhooks to one side before the other takes its turn
)

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

// newLoadClient is a client keeping loadClients connections alive to one server.
func newLoadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}
}

// load posts webhooks from to to-1 (bodies taken in turn) to url from loadClients
// goroutines and writes each one's latency into lat[i].
func load(b *testing.B, client *http.Client, url string, bodies [][]byte, from, to int, lat []time.Duration) {
	b.Helper()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range loadClients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(to) {
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
		b.Fatalf("%d of %d requests failed", f, to-from)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// side is one server under load: its URL, its client, and what its chunks took.
type side struct {
	url        string
	client     *http.Client
	lat        []time.Duration
	wall, cpu  time.Duration
	afterChunk func(to int) // waits until the chunk's webhooks are handled; nil: nothing to wait for
}

func (s *side) chunk(b *testing.B, bodies [][]byte, from, to int) {
	wall0, cpu0 := time.Now(), cpuTime()
	load(b, s.client, s.url, bodies, from, to, s.lat)
	if s.afterChunk != nil {
		s.afterChunk(to)
	}
	s.wall += time.Since(wall0)
	s.cpu += cpuTime() - cpu0
}

func pct(lat []time.Duration, p float64) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
}

// BenchmarkServeWebhooks: webhooks through serve's pipeline — ingest, the queue, the
// worker, the bus and the template's rules all running on the same cores — answered
// once queued, and a chunk counted done once its webhooks are on the bus (sustained
// throughput, the drain included). No action runs: what actions cost depends on the
// automations.
func BenchmarkServeWebhooks(b *testing.B) { benchServe(b, true) }

// BenchmarkServeWebhooksWithActions: the same with the shipped actions running against
// the sandbox (each an HTTP round trip or more, and the sandbox's webhooks back).
func BenchmarkServeWebhooksWithActions(b *testing.B) { benchServe(b, false) }

// benchServe sends b.N webhooks to serve and b.N to the bare handler, chunk by chunk,
// alternating which goes first. It reports, per webhook, each one's mean wall time
// (serve-µs, bare-µs: their ratio is the throughput ratio) and the process's CPU time
// (cpu-µs, bare-cpu-µs: client and server, as they share the process; on shared cores
// CPU moves far less than wall time), serve's throughput, its p50 and p99 latency and
// what it adds to the bare handler's p50.
func benchServe(b *testing.B, noActions bool) {
	opts := Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "bench-token",
		Template: "../../template.yaml", LogLevel: "error", DrainFor: time.Minute, NoActions: noActions}
	defer setServeGC()() // as runServe does
	s, err := Start(context.Background(), opts, io.Discard, &syncBuffer{})
	if err != nil {
		b.Fatal(err)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"00000000-0000-4000-8000-000000000000"}`)
	}))
	defer bare.Close()
	serve := &side{url: s.webhookURL, client: newLoadClient(), lat: make([]time.Duration, b.N),
		afterChunk: func(to int) { waitDelivered(b, s, to) }}
	base := &side{url: bare.URL + "/webhooks/bench-token", client: newLoadClient(), lat: make([]time.Duration, b.N)}
	defer serve.client.CloseIdleConnections()
	defer base.client.CloseIdleConnections()
	bodies := benchBodies()
	b.ResetTimer()
	for from, k := 0, 0; from < b.N; from, k = from+chunkSize, k+1 {
		to := min(from+chunkSize, b.N)
		first, second := serve, base
		if k%2 == 1 {
			first, second = base, serve
		}
		first.chunk(b, bodies, from, to)
		second.chunk(b, bodies, from, to)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(serve.wall.Microseconds())/n, "serve-µs")
	b.ReportMetric(float64(base.wall.Microseconds())/n, "bare-µs")
	b.ReportMetric(float64(serve.cpu.Microseconds())/n, "cpu-µs")
	b.ReportMetric(float64(base.cpu.Microseconds())/n, "bare-cpu-µs")
	b.ReportMetric(n/serve.wall.Seconds(), "webhooks/s")
	b.ReportMetric(pct(serve.lat, 0.50), "p50-ms")
	b.ReportMetric(pct(serve.lat, 0.99), "p99-ms")
	b.ReportMetric(pct(serve.lat, 0.50)-pct(base.lat, 0.50), "added-p50-ms")
	b.ReportMetric(n/float64(s.pipeline.Bus.Calls()), "events/put")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	if got := s.pipeline.Bus.Accepted(); got < b.N {
		b.Fatalf("%d webhooks acknowledged, %d events on the bus", b.N, got)
	}
}

// waitDelivered waits until the n webhooks are on the bus and the pipeline is idle (the
// actions done), checking often so that the wait adds little beyond the work itself.
func waitDelivered(b *testing.B, s *Stack, n int) {
	deadline := time.Now().Add(time.Minute)
	for s.pipeline.Bus.Accepted() < n || !s.pipeline.Idle() {
		if time.Now().After(deadline) {
			b.Fatalf("after a minute, %d of %d webhooks on the bus", s.pipeline.Bus.Accepted(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
