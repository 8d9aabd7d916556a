package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func seqs(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func TestRingKeepsTheLastSize(t *testing.T) {
	s := New(Options{Size: 3})
	for i := range 5 {
		got := s.Publish(Record{Kind: KindWebhook, DeliveryID: fmt.Sprint("d", i), Webhook: &Webhook{Status: 200, Accepted: true}})
		if got.Seq != uint64(i+1) || got.Time.IsZero() {
			t.Fatalf("publish %d stamped seq %d time %v", i, got.Seq, got.Time)
		}
	}
	if got := fmt.Sprint(seqs(s.Records())); got != "[3 4 5]" {
		t.Fatalf("ring holds %s, want [3 4 5]", got)
	}
	if got := fmt.Sprint(seqs(s.Since(3))); got != "[4 5]" {
		t.Fatalf("Since(3) = %s, want [4 5]", got)
	}
	if got := fmt.Sprint(seqs(s.Since(1))); got != "[3 4 5]" {
		t.Fatalf("Since(1) = %s (older than the ring), want [3 4 5]", got)
	}
	if got := s.Since(5); len(got) != 0 {
		t.Fatalf("Since(5) = %v, want none", seqs(got))
	}
	if _, ok := s.Get(2); ok {
		t.Fatal("Get(2) found a record the ring dropped")
	}
	if r, ok := s.Get(4); !ok || r.DeliveryID != "d3" {
		t.Fatalf("Get(4) = %+v, %v", r, ok)
	}
	if got := s.Delivery("d4"); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("Delivery(d4) = %v", seqs(got))
	}
	if c := s.Counts(); c.WebhooksAccepted != 5 {
		t.Fatalf("counts hold %d accepted, want 5 (not bounded by the ring)", c.WebhooksAccepted)
	}
	if s.LastSeq() != 5 {
		t.Fatalf("LastSeq = %d", s.LastSeq())
	}
}

func TestRingBoundsBytes(t *testing.T) {
	s := New(Options{Size: 100, MaxBytes: 10 * 1024})
	big := strings.Repeat("x", 3000)
	for range 20 {
		s.Publish(Record{Kind: KindPublished, Published: &Published{Text: big}})
	}
	rs := s.Records()
	// each record is about 3,256 estimated bytes: three fit in 10 KiB.
	if len(rs) != 3 || rs[len(rs)-1].Seq != 20 {
		t.Fatalf("ring holds %v, want the last 3", seqs(rs))
	}
	// A record bigger than the bound alone is still kept: the newest always is.
	s.Publish(Record{Kind: KindPublished, Published: &Published{Text: strings.Repeat("y", 20*1024)}})
	if rs := s.Records(); len(rs) != 1 || rs[0].Seq != 21 {
		t.Fatalf("after a big record the ring holds %v, want [21]", seqs(rs))
	}
}

func TestCounts(t *testing.T) {
	s := New(Options{})
	pub := func(r Record) { s.Publish(r) }
	pub(Record{Kind: KindWebhook, Webhook: &Webhook{Status: 200, Accepted: true}})
	pub(Record{Kind: KindWebhook, Webhook: &Webhook{Status: 401, Reason: "bad token"}})
	pub(Record{Kind: KindDeliveryFail, DeliveryFail: &DeliveryFail{MessageID: "m", Error: "bus down"}})
	pub(Record{Kind: KindPublished, Published: &Published{DetailType: "x"}})
	pub(Record{Kind: KindPublished, Published: &Published{DetailType: "y", Unrecognized: true}})
	pub(Record{Kind: KindRouted, Routed: &Routed{Rule: "r", Function: "f"}})
	pub(Record{Kind: KindActionStart, Action: &Action{Function: "f", Attempt: 1}})
	pub(Record{Kind: KindAPICall, APICall: &APICall{Method: "GET", Path: "/peers", Status: 200}})
	pub(Record{Kind: KindOutcome, Outcome: &ActionOutcome{Function: "f", Outcome: Done}})
	pub(Record{Kind: KindOutcome, Outcome: &ActionOutcome{Function: "f", Outcome: Ignored, Reason: "r"}})
	pub(Record{Kind: KindOutcome, Outcome: &ActionOutcome{Function: "f", Outcome: Failed, Error: "e"}})
	pub(Record{Kind: KindOutcome, Outcome: &ActionOutcome{Function: "f", Outcome: Failed, Error: "e", Final: true}})
	pub(Record{Kind: KindRetried, Retried: &Retried{Function: "f", Attempt: 2}})
	pub(Record{Kind: KindDeadLetter, DeadLetter: &DeadLetter{Queue: QueueEvents, Function: "f"}})
	pub(Record{Kind: KindDeadLetter, DeadLetter: &DeadLetter{Queue: QueueWebhooks, MessageID: "m"}})
	pub(Record{Kind: KindRedriven, Redriven: &Redriven{Queue: QueueEvents, Count: 3}})
	pub(Record{Kind: KindPurged, Purged: &Purged{Queue: QueueWebhooks, Count: 2}})
	pub(Record{Kind: KindReconcile, Reconcile: &Reconcile{Baseline: true}})
	pub(Record{Kind: KindReconcile, Reconcile: &Reconcile{Drift: 4}})
	got := s.Counts()
	got.Since = time.Time{}
	want := Counts{WebhooksAccepted: 1, WebhooksRefused: 1, DeliveriesFailed: 1, EventsPublished: 2, Unrecognized: 1,
		Routed: 1, ActionsStarted: 1, ActionsDone: 1, ActionsIgnored: 1, ActionsFailed: 2, APICalls: 1, Retries: 1,
		WebhooksDeadLettered: 1, EventsDeadLettered: 1, Redriven: 3, Purged: 2, ReconcileRuns: 2, Drift: 4}
	if got != want {
		t.Fatalf("counts\n got %+v\nwant %+v", got, want)
	}
}

func TestSubscribeGetsRecordsInOrder(t *testing.T) {
	s := New(Options{})
	s.Publish(Record{Kind: KindWebhook}) // before: not in a plain subscription
	ctx, cancel := context.WithCancel(context.Background())
	sub := s.Subscribe(ctx)
	if len(sub.History) != 0 {
		t.Fatalf("Subscribe gave history %v", seqs(sub.History))
	}
	for range 3 {
		s.Publish(Record{Kind: KindWebhook})
	}
	for want := uint64(2); want <= 4; want++ {
		if r := <-sub.C; r.Seq != want {
			t.Fatalf("got seq %d, want %d", r.Seq, want)
		}
	}
	if s.Subscribers() != 1 {
		t.Fatalf("Subscribers = %d", s.Subscribers())
	}
	cancel()
	for range sub.C { // closed once the context ends
	}
	s.Publish(Record{Kind: KindWebhook}) // no subscriber left: nothing to send to
	if s.Subscribers() != 0 {
		t.Fatalf("Subscribers = %d after cancel", s.Subscribers())
	}
}

// A subscriber that reads nothing never holds up Publish; once it reads again it is told
// how many records it missed, and then gets the next one.
func TestSlowSubscriberLosesAndIsTold(t *testing.T) {
	s := New(Options{Size: 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := s.Subscribe(ctx)
	total := SubscribeBuffer + 10
	for range total {
		s.Publish(Record{Kind: KindWebhook})
	}
	for want := uint64(1); want <= SubscribeBuffer; want++ {
		if r := <-sub.C; r.Seq != want {
			t.Fatalf("got seq %d, want %d", r.Seq, want)
		}
	}
	if sub.Missed() != 10 {
		t.Fatalf("Missed = %d, want 10", sub.Missed())
	}
	s.Publish(Record{Kind: KindWebhook})
	if r := <-sub.C; r.Kind != KindLost || r.Lost != 10 {
		t.Fatalf("got %+v, want a Lost record of 10", r)
	}
	if r := <-sub.C; r.Seq != uint64(total+1) {
		t.Fatalf("after the Lost record got seq %d, want %d", r.Seq, total+1)
	}
}

// checkAccounting reads sub until it closes and asserts that every record published after
// from (up to last) was either received once, in order, or counted in a Lost record.
func checkAccounting(t *testing.T, name string, got []Record, from, last uint64) {
	t.Helper()
	next := from + 1
	owed := uint64(0)
	for _, r := range got {
		if r.Kind == KindLost {
			owed += r.Lost
			continue
		}
		if r.Seq < next {
			t.Fatalf("%s: seq %d again or out of order (expected %d next)", name, r.Seq, next)
		}
		gap := r.Seq - next
		if gap != owed {
			t.Fatalf("%s: seq %d after %d: a gap of %d, but %d were told lost", name, r.Seq, next-1, gap, owed)
		}
		owed = 0
		next = r.Seq + 1
	}
	// Records lost at the end may not have been told yet (no record came after them).
	if next-1+owed > last {
		t.Fatalf("%s: told of more than was published (%d + %d lost > %d)", name, next-1, owed, last)
	}
}

// Concurrent publishers, readers of the ring and subscribers that come and go, one of
// them slow: each subscriber sees every record once, in order, or is told it lost it; the
// counts hold every record.
func TestConcurrentPublishAndSubscribe(t *testing.T) {
	s := New(Options{Size: 500})
	const publishers, each = 8, 2000
	var wg sync.WaitGroup
	start := make(chan struct{})
	type result struct {
		name string
		from uint64
		got  []Record
	}
	results := make(chan result, 16)
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var sub *Subscription
			var from uint64
			if i%2 == 0 {
				from = uint64(i) // SubscribeSince: history then live, no gap or repeat
				sub = s.SubscribeSince(ctx, from)
			} else {
				sub = s.Subscribe(ctx)
				from = 0 // unknown: take the first record as the start
			}
			got := append([]Record(nil), sub.History...)
			for r := range sub.C {
				got = append(got, r)
				if i == 3 && len(got)%100 == 0 {
					time.Sleep(time.Millisecond) // slow on purpose: it must lose, not block
				}
			}
			if i%2 != 0 && len(got) > 0 && got[0].Kind != KindLost {
				from = got[0].Seq - 1 // a plain subscription starts wherever publishing was
			}
			results <- result{fmt.Sprint("subscriber ", i), from, got}
		}()
	}
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			<-start
			for k := range each {
				s.Publish(Record{Kind: KindOutcome, DeliveryID: fmt.Sprint(p, "-", k), Outcome: &ActionOutcome{Outcome: Done}})
				if k%500 == 0 {
					s.Since(uint64(k))
					s.Delivery("nope")
				}
			}
		}()
	}
	close(start)
	pubs.Wait()
	cancel()
	wg.Wait()
	close(results)
	last := s.LastSeq()
	if last != publishers*each {
		t.Fatalf("LastSeq = %d, want %d", last, publishers*each)
	}
	for r := range results {
		checkAccounting(t, r.name, r.got, r.from, last)
	}
	if c := s.Counts(); c.ActionsDone != publishers*each {
		t.Fatalf("counted %d done, want %d", c.ActionsDone, publishers*each)
	}
	if rs := s.Records(); len(rs) != 500 || rs[499].Seq != last {
		t.Fatalf("ring holds %d records ending at %d", len(rs), rs[len(rs)-1].Seq)
	}
}

// SubscribeSince while publishing: the history and the live records join with no gap
// and no repeat.
func TestSubscribeSinceJoinsHistoryAndLive(t *testing.T) {
	for range 20 {
		s := New(Options{Size: 100000})
		var pubs sync.WaitGroup
		const n = 3000
		for range 3 {
			pubs.Add(1)
			go func() {
				defer pubs.Done()
				for range n {
					s.Publish(Record{Kind: KindWebhook})
				}
			}()
		}
		ctx, cancel := context.WithCancel(context.Background())
		sub := s.SubscribeSince(ctx, 0)
		got := append([]Record(nil), sub.History...)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for r := range sub.C {
				got = append(got, r)
			}
		}()
		pubs.Wait()
		cancel()
		<-done
		checkAccounting(t, "since 0", got, 0, 3*n)
		var lost uint64
		for _, r := range got {
			lost += r.Lost
		}
		if lost == 0 && sub.Missed() == 0 && len(got) != 3*n {
			t.Fatalf("got %d records, none lost, want %d", len(got), 3*n)
		}
	}
}

// SubscribeSince from before the ring's oldest record tells the records it no longer has.
func TestSubscribeSinceTellsWhatTheRingDropped(t *testing.T) {
	s := New(Options{Size: 3})
	for range 5 {
		s.Publish(Record{Kind: KindWebhook})
	}
	sub := s.SubscribeSince(t.Context(), 0)
	h := sub.History
	if len(h) != 4 || h[0].Kind != KindLost || h[0].Lost != 2 || fmt.Sprint(seqs(h[1:])) != "[3 4 5]" {
		t.Fatalf("history %+v", h)
	}
	if h := s.SubscribeSince(t.Context(), 5).History; len(h) != 0 {
		t.Fatalf("history after the last seq: %+v", h)
	}
	// From a seq not yet published: nothing up to it is sent.
	ahead := s.SubscribeSince(t.Context(), 7)
	for range 3 {
		s.Publish(Record{Kind: KindWebhook})
	}
	if r := <-ahead.C; r.Seq != 8 || len(ahead.History) != 0 {
		t.Fatalf("SubscribeSince(7) got seq %d first (history %v), want 8", r.Seq, seqs(ahead.History))
	}
}

func TestNilStream(t *testing.T) {
	var s *Stream
	r := s.Publish(Record{Kind: KindWebhook})
	if r.Kind != KindWebhook || s.Records() != nil || s.LastSeq() != 0 || s.Subscribers() != 0 {
		t.Fatal("a nil stream should take records and hold none")
	}
	sub := s.Subscribe(context.Background())
	if _, open := <-sub.C; open {
		t.Fatal("a nil stream's subscription should be closed")
	}
}

func TestClip(t *testing.T) {
	if Clip("short") != "short" {
		t.Fatal("Clip changed a short string")
	}
	long := strings.Repeat("é", MaxField) // 2 bytes each: the cut falls inside one
	c := Clip(long)
	if !strings.HasSuffix(c, "…(clipped)") || len(c) > MaxField+len("…(clipped)") {
		t.Fatalf("Clip gave %d bytes", len(c))
	}
	if body := strings.TrimSuffix(c, "…(clipped)"); !json.Valid([]byte(`"`+body+`"`)) || len(body)%2 != 0 {
		t.Fatal("Clip cut inside a UTF-8 sequence")
	}
}

func TestRecordJSON(t *testing.T) {
	s := New(Options{})
	r := s.Publish(Record{Kind: KindAPICall, DeliveryID: "d", APICall: &APICall{Method: "PATCH", Path: "/roles/1", Status: 200, Duration: time.Millisecond}})
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kind != KindAPICall || back.APICall == nil || back.APICall.Path != "/roles/1" || back.Seq != r.Seq || back.Webhook != nil {
		t.Fatalf("round trip: %s -> %+v", raw, back)
	}
}

// A tap sees every record, from every publisher, even when subscribers lose some.
func TestTapSeesEveryRecord(t *testing.T) {
	s := New(Options{Size: 10})
	var mu sync.Mutex
	seen := map[uint64]int{}
	s.Tap(func(r Record) {
		mu.Lock()
		seen[r.Seq]++
		mu.Unlock()
	})
	s.Subscribe(t.Context()) // never read: it loses, the tap does not
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				s.Publish(Record{Kind: KindWebhook})
			}
		})
	}
	wg.Wait()
	if len(seen) != 4000 {
		t.Fatalf("the tap saw %d records, want 4000", len(seen))
	}
	for seq, n := range seen {
		if n != 1 || seq < 1 || seq > 4000 {
			t.Fatalf("seq %d seen %d times", seq, n)
		}
	}
}
