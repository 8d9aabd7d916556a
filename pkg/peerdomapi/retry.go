package peerdomapi

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of one request.
type RetryPolicy struct {
	// MaxAttempts is the most requests made for one call, the first included (default 4).
	MaxAttempts int
	// BaseDelay is the wait before the first retry; it doubles with each retry (default 250ms).
	BaseDelay time.Duration
	// MaxDelay caps the exponential wait (default 5s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a server asking for
	// more gets its 429 passed to the caller, whose own retry (EventBridge's, a person's)
	// is better placed to wait that long (default 30s).
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is used when a client is given none.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: 250 * time.Millisecond, MaxDelay: 5 * time.Second, MaxRetryAfter: 30 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetryPolicy.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultRetryPolicy.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultRetryPolicy.MaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultRetryPolicy.MaxRetryAfter
	}
	return p
}

// backoff is the wait before retry number n (1 for the first retry): exponential,
// capped, with "equal jitter" — a random point in the upper half — so that clients
// rate-limited together do not come back together, yet each still waits.
func (p RetryPolicy) backoff(n int, rnd func(int64) int64) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + time.Duration(rnd(int64(d-half)+1))
}

func randInt64N(n int64) int64 { return rand.Int64N(n) }

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryDecision says whether an attempt may be repeated, and why not when it may not.
type retryDecision struct {
	retry  bool
	reason string // set when a retry was refused for safety, for the error message
}

// decideRetry is the one place that decides which failures are retried. The rule: repeat a
// request only when repeating cannot do a change twice.
func decideRetry(method string, status int, err error) retryDecision {
	idempotent := method == http.MethodGet || method == http.MethodHead ||
		method == http.MethodPut || method == http.MethodDelete
	if err != nil {
		var op *net.OpError
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			// The caller's time is up: nothing to retry within.
			return retryDecision{}
		case errors.As(err, &op) && op.Op == "dial":
			// No connection was made (refused, DNS, unreachable), so the request never
			// reached Peerdom: any method is safe to send again.
			return retryDecision{retry: true}
		case idempotent:
			// The connection broke after it was made. GET changes nothing; PUT sets the
			// same values again; DELETE again finds the entity gone (see deleteGone).
			return retryDecision{retry: true}
		default:
			// A POST whose connection broke after sending may have been applied: sending
			// it again could create a second peer or a second assignment.
			return retryDecision{reason: "not retried: the connection failed after the " + method + " was sent, so it may have been applied"}
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		// The rate limiter refuses a request before it is processed, so even a POST was
		// not applied and is safe to send again.
		return retryDecision{retry: true}
	case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
		// Permanent: asking again gives the same answer.
		return retryDecision{}
	case status >= 500 && idempotent:
		// A server error on a request whose repetition changes nothing further.
		return retryDecision{retry: true}
	case status >= 500:
		// A POST answered 5xx may have been applied before the server failed. It is not
		// repeated blindly: the error goes back to the caller, whose retry (EventBridge
		// redelivering the event) runs the action again, and every action first checks
		// whether the desired state already holds.
		return retryDecision{reason: "not retried: a " + method + " answered " + strconv.Itoa(status) + " may have been applied"}
	}
	return retryDecision{}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
