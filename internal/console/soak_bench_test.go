package console

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"runtime"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/observe"
)

func heapMB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkConsoleOpenSoak publishes b.N events (five records each, as serve does: the
// event, its routing, an action's start, an API call, the outcome) on an observe stream
// while a browser's live list is open on the console, reading every row. Its figure is
// the heap after b.N events over the heap after 10k: the console's memory stays flat
// however many events go by (run with -benchtime 300000x).
func BenchmarkConsoleOpenSoak(b *testing.B) {
	s := observe.New(observe.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Observed(s, nil), Options{Addr: ln.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: c}
	go srv.Serve(ln)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.Get(c.URL())
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+Prefix+"stream", nil)
	resp, err = cl.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	rows := make(chan int, 1)
	go func() { // the browser: reads every row
		n, shown := 0, 0
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				rows <- shown
				return
			}
			// Count each event once: rows come in publishing order (live, or caught
			// up after a loss), so a new event is one numbered above the last seen.
			if rest, ok := strings.CutPrefix(line, `data: {"id":"e`); ok {
				var i int
				fmt.Sscanf(rest, "%d", &i)
				if i+1 > n {
					n = i + 1
					shown++
				}
			}
		}
	}()
	for s.Subscribers() == 0 {
		runtime.Gosched() // the stream subscribes before it answers; never reached in practice
	}
	var at10k, atThird float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		publishEvent(s, fmt.Sprintf("e%d", i), fmt.Sprintf("d%d", i), fmt.Sprintf("Role %d", i), observe.Done)
		if i+1 == 10000 || i+1 == b.N/3 {
			b.StopTimer()
			if i+1 == 10000 {
				at10k = heapMB()
			} else {
				atThird = heapMB()
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	end := heapMB()
	cancel()
	resp.Body.Close()
	got := <-rows // the events the browser was shown (the rest scrolled past in a catch-up)
	if at10k > 0 {
		b.ReportMetric(end/at10k, fmt.Sprintf("heap-MB@%d/heap-MB@10k", b.N))
	}
	if atThird > 0 {
		b.ReportMetric(end/atThird, fmt.Sprintf("heap-MB@%d/heap-MB@%d", b.N, b.N/3))
	}
	b.ReportMetric(end, "heap-MB")
	b.ReportMetric(float64(got)/float64(b.N), "shown/event")
}
