package serve

import (
	"bufio"
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// watchConsole opens the console as a browser would (the printed URL, then the live
// list's stream) and reads every row until the returned stop is called, which reports
// the rows read (BenchmarkServeSoak with BENCH_SOAK_CONSOLE set).
func watchConsole(b *testing.B, s *Stack) (stop func()) {
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.Get(s.ConsoleURL())
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("opening the console: %v %v", resp, err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(s.adminURL, "/")+"/console/stream", nil)
	resp, err = cl.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("the console's stream: %v %v", resp, err)
	}
	rows := make(chan int, 1)
	go func() {
		n := 0
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				n++
			}
		}
		rows <- n
	}()
	return func() {
		cancel()
		resp.Body.Close()
		b.ReportMetric(float64(<-rows), "console-rows")
	}
}
