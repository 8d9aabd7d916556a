package observe

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Stream's bounds.
const (
	DefaultSize     = 10000    // records kept in the ring
	DefaultMaxBytes = 64 << 20 // estimated bytes the ring's records may hold
	// SubscribeBuffer is how many records a subscriber may fall behind before it loses some.
	SubscribeBuffer = 1024
)

// Options bound a Stream; zero values take the defaults.
type Options struct {
	Size     int // records kept; DefaultSize
	MaxBytes int // estimated bytes kept (bodies, texts, events); DefaultMaxBytes
	// Now stamps the records; nil: time.Now.
	Now func() time.Time
}

// Stream is the pipeline's record: a ring of the last records, counts of everything
// since it began, and live subscribers. Its methods are safe for concurrent use, and a nil
// *Stream takes (and drops) records, so code may publish without checking for one.
//
// Records are shared with every reader once published: treat them, and what their
// payload pointers point to, as read-only.
type Stream struct {
	now func() time.Time

	mu       sync.Mutex
	seq      uint64
	ring     []Record
	sizes    []int32
	head, n  int // the oldest record's index in ring, and how many are held
	bytes    int
	maxBytes int
	counts   Counts
	subs     []*Subscription
	nsubs    atomic.Int32
	taps     atomic.Pointer[[]func(Record)]
}

// New returns a Stream with the given bounds.
func New(o Options) *Stream {
	if o.Size <= 0 {
		o.Size = DefaultSize
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Stream{
		now:      o.Now,
		ring:     make([]Record, o.Size),
		sizes:    make([]int32, o.Size),
		maxBytes: o.MaxBytes,
		counts:   Counts{Since: o.Now().UTC()},
	}
}

// Publish stamps r with the next sequence number and the time, keeps it in the ring,
// counts it and offers it to each subscriber without waiting. It returns r as stamped.
func (s *Stream) Publish(r Record) Record {
	if s == nil {
		return r
	}
	size := r.size()
	s.mu.Lock()
	s.seq++
	r.Seq = s.seq
	r.Time = s.now()
	s.counts.add(&r)
	// Keep it: drop the oldest while the ring is full, or the bytes would pass their bound
	// (the newest is always kept).
	for s.n > 0 && (s.n == len(s.ring) || s.bytes+size > s.maxBytes) {
		s.bytes -= int(s.sizes[s.head])
		s.ring[s.head] = Record{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
	}
	i := (s.head + s.n) % len(s.ring)
	s.ring[i], s.sizes[i] = r, int32(min(size, 1<<31-1))
	s.n++
	s.bytes += size
	if s.nsubs.Load() > 0 {
		for _, sub := range s.subs {
			sub.offer(r)
		}
	}
	s.mu.Unlock()
	if taps := s.taps.Load(); taps != nil {
		for _, fn := range *taps {
			fn(r)
		}
	}
	return r
}

// Tap has fn called with every record once it is published: synchronously, in the
// publishing goroutine, outside the stream's lock, so that it misses none (serve's
// terminal display and its dead-letter reasons read the stream this way). fn is called
// from several goroutines at once: it must be safe for that, quick, and must not block
// or publish. A record's taps run after its subscribers were offered it.
func (s *Stream) Tap(fn func(Record)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var taps []func(Record)
	if old := s.taps.Load(); old != nil {
		taps = append(taps, *old...)
	}
	taps = append(taps, fn)
	s.taps.Store(&taps)
}

// Records returns the records in the ring, oldest first.
func (s *Stream) Records() []Record { return s.Since(0) }

// Since returns the records in the ring whose Seq is after seq, oldest first.
func (s *Stream) Since(seq uint64) []Record {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sinceLocked(seq)
}

func (s *Stream) sinceLocked(seq uint64) []Record {
	if s.n == 0 {
		return nil
	}
	first := s.ring[s.head].Seq // the ring's seqs are consecutive
	skip := 0
	if seq >= first {
		skip = int(min(seq-first+1, uint64(s.n)))
	}
	out := make([]Record, 0, s.n-skip)
	for k := skip; k < s.n; k++ {
		out = append(out, s.ring[(s.head+k)%len(s.ring)])
	}
	return out
}

// Get returns the record numbered seq, if the ring still holds it.
func (s *Stream) Get(seq uint64) (Record, bool) {
	if s == nil {
		return Record{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return Record{}, false
	}
	first := s.ring[s.head].Seq
	if seq < first || seq >= first+uint64(s.n) {
		return Record{}, false
	}
	return s.ring[(s.head+int(seq-first))%len(s.ring)], true
}

// Delivery returns the ring's records about one delivery id, oldest first.
func (s *Stream) Delivery(id string) []Record {
	return s.Filter(func(r *Record) bool { return r.DeliveryID == id })
}

// Filter returns the ring's records keep accepts, oldest first. keep runs with the
// stream locked: it must be quick and must not call the stream.
func (s *Stream) Filter(keep func(*Record) bool) []Record {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for k := 0; k < s.n; k++ {
		if r := &s.ring[(s.head+k)%len(s.ring)]; keep(r) {
			out = append(out, *r)
		}
	}
	return out
}

// LastSeq is the number of the latest record (0: none yet).
func (s *Stream) LastSeq() uint64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// Counts returns what was counted since the stream began (not bounded by the ring).
func (s *Stream) Counts() Counts {
	if s == nil {
		return Counts{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Subscription is a live view of a Stream. Read C until it is closed (when the context
// given to Subscribe ends). A subscriber that falls SubscribeBuffer records behind loses
// the records that do not fit; the next record it gets is then one of Kind Lost saying
// how many it missed.
type Subscription struct {
	C <-chan Record
	// History, for SubscribeSince, holds the ring's records after the given seq at the
	// moment of subscribing; C continues right after them, with no gap and no repeat.
	History []Record

	c      chan Record
	after  uint64 // SubscribeSince's seq: records up to it are not sent
	owed   uint64 // missed records not yet told (under the stream's lock)
	missed atomic.Uint64
}

// Missed is how many records this subscriber has lost so far.
func (sub *Subscription) Missed() uint64 { return sub.missed.Load() }

// offer hands r to the subscriber if there is room; called with the stream locked.
func (sub *Subscription) offer(r Record) {
	if r.Seq <= sub.after {
		return
	}
	if sub.owed > 0 {
		select {
		case sub.c <- Record{Kind: KindLost, Lost: sub.owed, Time: r.Time}:
			sub.owed = 0
		default:
			sub.owed++
			sub.missed.Add(1)
			return
		}
	}
	select {
	case sub.c <- r:
	default:
		sub.owed++
		sub.missed.Add(1)
	}
}

// Subscribe returns a subscription to the records published from now on, until ctx ends.
func (s *Stream) Subscribe(ctx context.Context) *Subscription {
	return s.subscribe(ctx, 0, false)
}

// SubscribeSince is Subscribe with the ring's records after seq in History (seq 0: all
// the ring holds), so that a reader sees what came before and what comes next, once each.
// Records after seq that the ring no longer holds are told as a Lost record first.
func (s *Stream) SubscribeSince(ctx context.Context, seq uint64) *Subscription {
	return s.subscribe(ctx, seq, true)
}

func (s *Stream) subscribe(ctx context.Context, seq uint64, history bool) *Subscription {
	c := make(chan Record, SubscribeBuffer)
	sub := &Subscription{C: c, c: c}
	if history {
		sub.after = seq
	}
	if s == nil {
		close(c)
		return sub
	}
	s.mu.Lock()
	if history {
		sub.History = s.sinceLocked(seq)
		oldest := s.seq + 1 // the first record the reader gets
		if len(sub.History) > 0 {
			oldest = sub.History[0].Seq
		}
		if oldest > seq+1 { // records after seq the ring no longer holds: told as lost
			sub.History = append([]Record{{Kind: KindLost, Lost: oldest - seq - 1, Time: s.now()}}, sub.History...)
		}
	}
	s.subs = append(s.subs, sub)
	s.nsubs.Add(1)
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		for i, x := range s.subs {
			if x == sub {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				break
			}
		}
		s.nsubs.Add(-1)
		close(sub.c)
		s.mu.Unlock()
	}()
	return sub
}

// Subscribers is how many subscriptions are live.
func (s *Stream) Subscribers() int {
	if s == nil {
		return 0
	}
	return int(s.nsubs.Load())
}
