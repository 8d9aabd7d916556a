// Package benchpair is what the warm invocation benchmarks (internal/ingest,
// internal/worker) share to time a function's handler beside its baseline: Alternate
// runs the two in turns within one benchmark, and Answers stands in for an AWS service's
// HTTP answers, so the SDK call is made in full except its network round trip.
package benchpair

import (
	"bytes"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// Alternate runs measured and baseline once per op, taking turns to go first, and
// returns the mean time of each, in µs. The mean, not the median: it keeps each one's
// garbage collection, which the allocating side pays in some ops only.
func Alternate(b *testing.B, measured, baseline func()) (measuredMean, baselineMean float64) {
	var mt, bt time.Duration
	n := 0
	timed := func(f func(), total *time.Duration) {
		start := time.Now()
		f()
		*total += time.Since(start)
	}
	b.ReportAllocs()
	for b.Loop() {
		if n%2 == 0 {
			timed(measured, &mt)
			timed(baseline, &bt)
		} else {
			timed(baseline, &bt)
			timed(measured, &mt)
		}
		n++
	}
	perOp := float64(n) * float64(time.Microsecond)
	return float64(mt) / perOp, float64(bt) / perOp
}

// AlternateCPU runs each of fns once per op, taking turns to go first, and returns the
// mean wall time and the mean CPU time of each, in µs per op. CPU time is the process's,
// user and system, garbage collection included (getrusage): on a shared machine wall
// time includes the moments other processes held the core, which come in bursts that
// even alternating means catch unevenly; CPU time counts only this process's work,
// which is what a function's billed duration is made of on Lambda's share of a core.
func AlternateCPU(b *testing.B, fns ...func()) (wall, cpu []float64) {
	wt := make([]time.Duration, len(fns))
	ct := make([]time.Duration, len(fns))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for j := range fns {
			i := (n + j) % len(fns)
			c0 := processCPU(b)
			start := time.Now()
			fns[i]()
			wt[i] += time.Since(start)
			ct[i] += processCPU(b) - c0
		}
		n++
	}
	perOp := float64(n) * float64(time.Microsecond)
	for i := range fns {
		wall = append(wall, float64(wt[i])/perOp)
		cpu = append(cpu, float64(ct[i])/perOp)
	}
	return wall, cpu
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Answers is an http.RoundTripper that answers each request in turn with the next of
// its bodies, cycling: status 200, the given Content-Type (an AWS JSON protocol's) and a
// request id. It reads the request's body first, as the network would.
type Answers struct {
	ContentType string
	Bodies      [][]byte
	next        int
}

// RoundTrip answers req with the next body.
func (a *Answers) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil { // the SDK's serialized request, read as the network would
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	body := a.Bodies[a.next%len(a.Bodies)]
	a.next++
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {a.ContentType}, "X-Amzn-Requestid": {"5fde3c0f-9a5c-5b4e-8c1d-2b7f0e3a9d41"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
