package peerdomapi

import (
	"errors"
	"net"
	"testing"
	"time"
)

func TestBackoffGrowsWithinJitterBounds(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	lowest := func(n int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 9: time.Second} {
		if lo := p.backoff(n, lowest); lo != want/2 {
			t.Errorf("backoff(%d) lowest = %v, want %v", n, lo, want/2)
		}
		if hi := p.backoff(n, highest); hi != want {
			t.Errorf("backoff(%d) highest = %v, want %v", n, hi, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]struct {
		d  time.Duration
		ok bool
	}{
		"1":                             {time.Second, true},
		" 30 ":                          {30 * time.Second, true},
		"-1":                            {0, false},
		"soon":                          {0, false},
		"":                              {0, false},
		"Fri, 02 Jan 2026 03:04:15 GMT": {10 * time.Second, true},
		"Fri, 02 Jan 2026 03:00:00 GMT": {0, true},
	}
	for in, want := range cases {
		d, ok := parseRetryAfter(in, now)
		if d != want.d || ok != want.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", in, d, ok, want.d, want.ok)
		}
	}
}

func TestDecideRetry(t *testing.T) {
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	reset := &net.OpError{Op: "read", Err: errors.New("connection reset")}
	cases := []struct {
		method string
		status int
		err    error
		want   bool
	}{
		{"GET", 429, nil, true}, {"POST", 429, nil, true},
		{"GET", 500, nil, true}, {"PUT", 502, nil, true}, {"DELETE", 503, nil, true},
		{"POST", 500, nil, false}, {"POST", 503, nil, false},
		{"GET", 501, nil, false}, {"GET", 400, nil, false}, {"GET", 404, nil, false},
		{"POST", 0, dial, true}, {"POST", 0, reset, false}, {"GET", 0, reset, true},
	}
	for _, c := range cases {
		if got := decideRetry(c.method, c.status, c.err); got.retry != c.want {
			t.Errorf("decideRetry(%s, %d, %v) = %v, want %v", c.method, c.status, c.err, got.retry, c.want)
		}
	}
}
