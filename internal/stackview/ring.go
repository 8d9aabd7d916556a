package stackview

import (
	"context"
	"sync"
)

// ring keeps the last events the tail received, bounded both in count and in bytes: an
// event on the bus may be up to 256 KB, so a count alone would not bound the memory.
// Readers wait for news on a channel closed at each append (a broadcast), so a reader
// never holds up the tail and a slow one only misses events the ring dropped.
type ring struct {
	mu       sync.Mutex
	buf      []Event // circular; len(buf) == maxCount once full
	start    int     // index of the oldest event
	n        int     // events held
	bytes    int     // their size (Event.size)
	maxCount int
	maxBytes int
	next     uint64 // Seq of the next event; the first is 1
	dropped  uint64 // events pushed out of the ring
	news     chan struct{}
}

func newRing(maxCount, maxBytes int) *ring {
	return &ring{maxCount: maxCount, maxBytes: maxBytes, next: 1, news: make(chan struct{})}
}

// add stamps e with the next Seq and keeps it, dropping the oldest events while the ring
// is over its count or its bytes (the newest always stays, whatever its size).
func (r *ring) add(e Event) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Seq = r.next
	r.next++
	for r.n > 0 && (r.n >= r.maxCount || r.bytes+e.size() > r.maxBytes) {
		r.dropOldest()
	}
	if r.n == len(r.buf) { // full below maxCount: grow, oldest first (the buffer grows as
		// the events come, so an idle console holds no 10,000-event array)
		grown := make([]Event, r.n, min(r.maxCount, max(16, 2*r.n)))
		for i := range r.n {
			grown[i] = r.buf[(r.start+i)%len(r.buf)]
		}
		r.buf, r.start = append(grown, e), 0
	} else {
		r.buf[(r.start+r.n)%len(r.buf)] = e
	}
	r.n++
	r.bytes += e.size()
	close(r.news)
	r.news = make(chan struct{})
	return e
}

func (r *ring) dropOldest() {
	r.bytes -= r.buf[r.start].size()
	r.buf[r.start] = Event{} // let the collector have it
	r.start = (r.start + 1) % len(r.buf)
	r.n--
	r.dropped++
}

// since returns the held events with Seq > after, oldest first, at most limit of them (0:
// all), the newest ones when there are more; the channel is closed at the next append.
func (r *ring) since(after uint64, limit int) ([]Event, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for i := range r.n {
		if e := r.buf[(r.start+i)%len(r.buf)]; e.Seq > after {
			out = append(out, e)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, r.news
}

// get is the held event with the given Seq.
func (r *ring) get(seq uint64) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return Event{}, false
	}
	first := r.buf[r.start].Seq
	if seq < first || seq >= first+uint64(r.n) {
		return Event{}, false
	}
	return r.buf[(r.start+int(seq-first))%len(r.buf)], true
}

// wait returns the events after `after` as since does, waiting for one when there is
// none yet; it returns ctx's error when ctx ends first.
func (r *ring) wait(ctx context.Context, after uint64, limit int) ([]Event, error) {
	for {
		evs, news := r.since(after, limit)
		if len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-news:
		}
	}
}

// stats are the ring's counts.
func (r *ring) stats() (held, bytes int, dropped, total uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.bytes, r.dropped, r.next - 1
}
