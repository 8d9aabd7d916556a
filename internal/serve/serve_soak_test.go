package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus/membus"
)

// BenchmarkServeSoak: b.N webhooks through serve's handler path, in-process (no sockets,
// so nothing but serve's own memory is measured), from 4 goroutines that back off on a
// 503 as a client would, with serve as it runs by default: its actions on (against its
// sandbox) and its queue and pending actions in the on-disk store. At 10k, 100k and
// 300k webhooks (once all are on the bus and every action has run) it reports the
// process's RSS and the live heap after a GC: they must stay flat. Run it with
// -benchtime 300000x; `make bench` runs it with fewer and reports nothing extra.
//
// BENCH_SOAK_KEEP_EVENTS=1 makes the bus keep every event, as it did before serve's bus
// kept counters only, to show the difference; BENCH_SOAK_IN_MEMORY=1 runs serve
// --in-memory.
func BenchmarkServeSoak(b *testing.B) {
	opts := Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "soak-token",
		Template: "../../template.yaml", LogLevel: "error", DrainFor: time.Minute,
		MaxBacklog: DefaultMaxBacklog, MaxConns: DefaultMaxConns, MaxPending: DefaultMaxPending}
	if os.Getenv("BENCH_SOAK_IN_MEMORY") == "" {
		opts.DataDir = b.TempDir()
	}
	if os.Getenv("BENCH_SOAK_KEEP_EVENTS") != "" {
		opts.BusHook = func(bus *membus.Bus) { bus.DropEvents = false }
	}
	console := os.Getenv("BENCH_SOAK_CONSOLE") != "" // the console's live list open throughout
	if console {
		b.Setenv(AdminDirEnv, b.TempDir())
		opts.AdminAddr = "127.0.0.1:0"
	}
	defer setServeGC()() // as runServe does
	s, err := Start(context.Background(), opts, io.Discard, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if console {
		defer watchConsole(b, s)()
	}
	bodies := benchBodies()
	handler := s.server.Handler
	checkpoints := []int{10_000, 100_000, 300_000}
	var sent, backoffs atomic.Int64
	b.ResetTimer()
	for from := 0; from < b.N; {
		to := b.N
		for _, c := range checkpoints {
			if c > from && c <= b.N {
				to = c
				break
			}
		}
		next := atomic.Int64{}
		next.Store(int64(from))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(to) {
						return
					}
					for {
						rec := httptest.NewRecorder()
						req := httptest.NewRequest(http.MethodPost, s.webhookURL, bytes.NewReader(bodies[i%int64(len(bodies))]))
						handler.ServeHTTP(rec, req)
						if rec.Code == http.StatusOK {
							sent.Add(1)
							break
						}
						if rec.Code != http.StatusServiceUnavailable {
							b.Errorf("status %d: %s", rec.Code, rec.Body.String())
							return
						}
						backoffs.Add(1)
						time.Sleep(time.Millisecond) // the backlog is full: as a client would, wait
					}
				}
			})
		}
		wg.Wait()
		waitDelivered(b, s, to)
		from = to
		if to == b.N && !isCheckpoint(to, checkpoints) {
			break
		}
		b.StopTimer()
		rss, heap := rssAndLiveHeap()
		b.ReportMetric(rss/(1<<20), fmt.Sprintf("rss-MB@%dk", to/1000))
		b.ReportMetric(heap/(1<<20), fmt.Sprintf("heap-MB@%dk", to/1000))
		s.display.mu.Lock()
		open := len(s.display.blocks) // events whose actions all ended must have no block left
		s.display.mu.Unlock()
		b.ReportMetric(float64(open), fmt.Sprintf("open-blocks@%dk", to/1000))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(backoffs.Load()), "503s")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	// The actions' writes to the sandbox send webhooks of their own: more events than sent.
	if got := s.pipeline.Bus.Accepted(); got < b.N || sent.Load() != int64(b.N) {
		b.Fatalf("%d sent, %d on the bus; want %d", sent.Load(), got, b.N)
	}
}

func isCheckpoint(n int, cps []int) bool {
	for _, c := range cps {
		if c == n {
			return true
		}
	}
	return false
}

// rssAndLiveHeap: VmRSS from /proc/self/status (0 where there is none), and the live
// heap right after a GC.
func rssAndLiveHeap() (rss, heap float64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	heap = float64(sample[0].Value.Uint64())
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, heap
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024, heap
		}
	}
	return 0, heap
}
