package peerdomtest

import (
	"strings"
	"time"
)

// Fault makes the double misbehave for the next matching requests.
type Fault struct {
	Method     string        // "" matches any method
	Path       string        // a prefix of the path below APIPrefix, e.g. "/roles"; "" matches any
	Status     int           // the status to answer instead (0: answer normally, after Delay)
	RetryAfter string        // the Retry-After header to send with Status, e.g. "1"
	Body       string        // the body to send with Status (default: a JSON error)
	Delay      time.Duration // wait this long before answering (cut short if the client gives up)
	Apply      bool          // carry the request out first, then answer Status: a write that happened but looks failed
	Times      int           // how many requests it affects (0 means 1)
}

// InjectFault adds a fault; faults apply in the order added, each to the number of
// matching requests given by Times.
func (p *Peerdom) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

func (p *Peerdom) takeFault(method, path string) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.faults {
		if (f.Method == "" || f.Method == method) && strings.HasPrefix(path, f.Path) {
			f.Times--
			if f.Times == 0 {
				p.faults = append(p.faults[:i], p.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// keepLatest drops the oldest records beyond keep (0: keeps all), copying the latest
// down once the slice has grown to twice keep, so the cost per record stays constant.
func keepLatest[T any](recs []T, keep int) []T {
	if keep <= 0 || len(recs) < 2*keep {
		return recs
	}
	n := copy(recs, recs[len(recs)-keep:])
	clear(recs[n:])
	return recs[:n]
}
