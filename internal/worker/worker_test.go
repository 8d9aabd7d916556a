package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

var received = time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

const (
	roleText   = "**[Role](https://app.peerdom.org/acme/roles/1)** was created\n\n**Author:** Jane Doe (jane@example.com)\n\n**Name:** Ops"
	sampleText = "Hello from Peerdom! If you can read this, your webhook endpoint works."
)

// envelope is a queued delivery as ingest writes it.
func envelope(t testing.TB, id, text string) string {
	t.Helper()
	s, err := peerdom.EncodeDelivery(peerdom.NewDelivery(id, received, text, peerdom.Sender{Address: "203.0.113.9"}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func record(msgID, body string) queue.Message {
	return queue.Message{ID: msgID, Body: body, Receipt: "receipt-" + msgID, ReceiveCount: 1, SentAt: received}
}

// handle runs one batch and returns the ids Handle reported failed.
func handle(t *testing.T, h *Handler, batch ...queue.Message) []string {
	t.Helper()
	failed, err := h.Handle(context.Background(), batch)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	return failed
}

func detailOf(t *testing.T, ev membus.Event) peerdom.Detail {
	t.Helper()
	d, err := peerdom.DecodeDetail([]byte(ev.Entry.Detail))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPublishesOneEventPerDelivery(t *testing.T) {
	b := membus.New()
	h := &Handler{Bus: b, Source: "peerdom.test"}
	if failed := handle(t, h, record("m1", envelope(t, "d1", roleText)), record("m2", envelope(t, "d2", sampleText))); len(failed) != 0 {
		t.Fatalf("failures: %v", failed)
	}
	evs := b.Events()
	if len(evs) != 2 || b.Calls() != 1 {
		t.Fatalf("%d events in %d calls, want 2 in 1", len(evs), b.Calls())
	}
	for i, want := range []struct{ id, text string }{{"d1", roleText}, {"d2", sampleText}} {
		ev := evs[i]
		d := detailOf(t, ev)
		expect := peerdom.NewEvent("peerdom.test", peerdom.NewDelivery(want.id, received, want.text, peerdom.Sender{}))
		if ev.Entry.Source != "peerdom.test" || ev.Entry.DetailType != expect.DetailType || !ev.Time.Equal(received) {
			t.Errorf("event %d: %+v", i, ev)
		}
		if d.ID != want.id || !d.ReceivedAt.Equal(received) || d.Text != want.text {
			t.Errorf("event %d detail: id %q receivedAt %v text %q", i, d.ID, d.ReceivedAt, d.Text)
		}
		wantJSON, _ := json.Marshal(expect.Detail)
		if ev.Entry.Detail != string(wantJSON) {
			t.Errorf("event %d detail\n got %s\nwant %s", i, ev.Entry.Detail, wantJSON)
		}
	}
}

func TestUnrecognizedIsPublishedNotFailed(t *testing.T) {
	b := membus.New()
	failed := handle(t, &Handler{Bus: b}, record("m1", envelope(t, "d1", sampleText)))
	if len(failed) != 0 || len(b.Events()) != 1 {
		t.Fatalf("failures %v, events %d", failed, len(b.Events()))
	}
	ev := b.Events()[0]
	if ev.Entry.DetailType != peerdom.DetailTypeUnrecognized || ev.Entry.Source != peerdom.DefaultSource {
		t.Errorf("got %q from %q", ev.Entry.DetailType, ev.Entry.Source)
	}
}

func TestMalformedEnvelopesFailNotDropped(t *testing.T) {
	b := membus.New()
	good := envelope(t, "d-ok", roleText)
	failed := handle(t, &Handler{Bus: b},
		record("not-json", "{"),
		record("plain-text", "hello"),
		record("wrong-version", strings.Replace(good, `"version":1`, `"version":99`, 1)),
		record("no-text", strings.Replace(good, `"text":`, `"txet":`, 1)),
		record("ok", good),
	)
	if got := failed; !slices.Equal(got, []string{"not-json", "plain-text", "wrong-version", "no-text"}) {
		t.Errorf("failures = %v", got)
	}
	if len(b.Events()) != 1 {
		t.Errorf("%d events, want the valid one", len(b.Events()))
	}
}

func TestPartialPutFailureReportsExactlyThoseMessages(t *testing.T) {
	b := membus.New()
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"id":"d3"`) || strings.Contains(e.Detail, `"id":"d5"`) {
			return "InternalFailure", "injected"
		}
		return "", ""
	}
	var recs []queue.Message
	for i := range 6 {
		recs = append(recs, record(fmt.Sprintf("m%d", i), envelope(t, fmt.Sprintf("d%d", i), roleText)))
	}
	if got := handle(t, &Handler{Bus: b}, recs...); !slices.Equal(got, []string{"m3", "m5"}) {
		t.Errorf("failures = %v, want [m3 m5]", got)
	}
	if len(b.Events()) != 4 {
		t.Errorf("%d events", len(b.Events()))
	}
}

func TestBatchOfTenMixedOutcomes(t *testing.T) {
	b := membus.New()
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"id":"d-rejected`) {
			return "ThrottlingException", "rate exceeded"
		}
		return "", ""
	}
	// A call containing d-chunk-down fails as a whole.
	down := errors.New("connection reset")
	b.FailCall = func(entries []bus.Entry) error {
		for _, e := range entries {
			if strings.Contains(e.Detail, `"id":"d-chunk-down"`) {
				return down
			}
		}
		return nil
	}
	big := func(n int) string { return strings.Repeat("x", n) } // each ~90 KB: at most two per call
	recs := []queue.Message{
		record("m0", envelope(t, "d-ok-0", roleText)),
		record("m1", "not an envelope"),
		record("m2", envelope(t, "d-rejected-2", roleText)),
		record("m3", envelope(t, "d-ok-3", sampleText)),
		record("m4", envelope(t, "d-huge", big(300_000))), // alone above 256 KB: too large, not retried
		record("m5", envelope(t, "d-ok-5", big(90_000))),
		record("m6", envelope(t, "d-ok-6", big(90_000))),
		record("m7", envelope(t, "d-chunk-down", big(90_000))), // its call also carries m8 and m9
		record("m8", envelope(t, "d-lost-8", roleText)),
		record("m9", envelope(t, "d-lost-9", sampleText)),
	}
	var logs bytes.Buffer
	got := handle(t, &Handler{Bus: b, Logger: logging.New(&logs, "info")}, recs...)
	want := []string{"m1", "m2", "m7", "m8", "m9"}
	if !slices.Equal(got, want) {
		t.Errorf("failures = %v, want %v", got, want)
	}
	var ids []string
	for _, ev := range b.Events() {
		ids = append(ids, detailOf(t, ev).ID)
	}
	if !slices.Equal(ids, []string{"d-ok-0", "d-ok-3", "d-ok-5", "d-ok-6"}) {
		t.Errorf("published %v", ids)
	}
	// m0..m6 fit one call (m5 and m6 are two of the ~90 KB texts); m7 opens the second.
	if b.Calls() != 2 {
		t.Errorf("%d calls, want 2", b.Calls())
	}

	// One line per message, naming its outcome; failures say why.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d log lines for 10 messages", len(lines))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		failed := slices.Contains(want, fmt.Sprintf("m%d", i))
		// The message id names a line that did not publish (dlq list finds errors by it).
		wantMsgID := any(fmt.Sprintf("m%d", i))
		if m["outcome"] == OutcomePublished {
			wantMsgID = nil
		}
		if m["messageId"] != wantMsgID || (m["outcome"] == OutcomeFailed) != failed {
			t.Errorf("line %d: %s", i, l)
		}
		if (failed || i == 4) && (m["error"] == nil || m["level"] != "ERROR") {
			t.Errorf("line %d gives no error: %s", i, l)
		}
		if i == 4 && (m["outcome"] != OutcomeTooLarge || m["id"] != "d-huge" || m["size"] == nil || m["size"].(float64) <= bus.MaxPutBytes) {
			t.Errorf("the too-large message's line: %s", l)
		}
	}
	for _, s := range []string{"ThrottlingException", "connection reset", "256 KB", "invalid delivery envelope"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("logs do not mention %q", s)
		}
	}
	if strings.Contains(logs.String(), "jane@example.com") {
		t.Error("text logged at info level")
	}
}

func TestDebugLogsText(t *testing.T) {
	var logs bytes.Buffer
	handle(t, &Handler{Bus: membus.New(), Logger: logging.New(&logs, "debug")}, record("m1", envelope(t, "d1", roleText)))
	var m map[string]any
	if err := json.Unmarshal(logs.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["text"] != roleText || m["id"] != "d1" || m["outcome"] != OutcomePublished || m["eventId"] == nil {
		t.Errorf("line: %v", m)
	}
}

// At info the published delivery's line names the delivery, its outcome and detail-type,
// not the bus's event id (debug adds it): 48 bytes a webhook (issue 22).
func TestInfoLineLeavesOutTheEventID(t *testing.T) {
	var logs bytes.Buffer
	handle(t, &Handler{Bus: membus.New(), Logger: logging.New(&logs, "info")}, record("m1", envelope(t, "d1", roleText)))
	var m map[string]any
	if err := json.Unmarshal(logs.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["id"] != "d1" || m["outcome"] != OutcomePublished || m["detailType"] != "Role Created" || m["eventId"] != nil {
		t.Errorf("line: %v", m)
	}
}

// TestRetriesKeepTheDeliveryID runs the worker under the in-memory queue as Lambda would:
// a failed message comes back, its retry carries the same delivery id, and a message that
// never works ends in the dead-letter list instead of disappearing.
func TestRetriesKeepTheDeliveryID(t *testing.T) {
	q := memqueue.New()
	b := membus.New()
	attempts := 0
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"id":"d-flaky"`) {
			attempts++
			if attempts == 1 {
				return "InternalFailure", "once"
			}
		}
		return "", ""
	}
	h := &Handler{Bus: b}
	ctx := context.Background()
	for _, body := range []string{envelope(t, "d-flaky", roleText), "garbage", envelope(t, "d-fine", sampleText)} {
		if err := q.Send(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if _, err := q.Poll(ctx, 10, h.Handle); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, ev := range b.Events() {
		ids = append(ids, detailOf(t, ev).ID)
	}
	if !slices.Equal(ids, []string{"d-fine", "d-flaky"}) {
		t.Errorf("published %v", ids)
	}
	dead := q.DeadLetters()
	if len(dead) != 1 || dead[0].Body != "garbage" || dead[0].ReceiveCount != memqueue.DefaultMaxReceives {
		t.Errorf("dead letters: %+v", dead)
	}
	if q.Len() != 0 || q.InFlight() != 0 {
		t.Errorf("queue not drained: %d visible, %d in flight", q.Len(), q.InFlight())
	}
}

func TestEmptyBatch(t *testing.T) {
	b := membus.New()
	if failed := handle(t, &Handler{Bus: b}); len(failed) != 0 || b.Calls() != 0 {
		t.Errorf("failed %v calls %d", failed, b.Calls())
	}
}

// slowBus answers its first call at once and blocks later ones until their context ends.
type slowBus struct{ calls int }

func (s *slowBus) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	s.calls++
	if s.calls == 1 {
		res := make([]bus.Result, len(entries))
		for i := range res {
			res[i].EventID = fmt.Sprint("e", i)
		}
		return res, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestAnswersBeforeTheInvocationDeadline(t *testing.T) {
	// Two calls' worth of entries (two ~140 KB texts); the second call hangs. The
	// deadline leaves the worker answerMargin (0.5 s) to answer after giving up.
	recs := []queue.Message{
		record("m0", envelope(t, "d0", strings.Repeat("a", 140_000))),
		record("m1", envelope(t, "d1", strings.Repeat("b", 140_000))),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := (&Handler{Bus: &slowBus{}}).Handle(ctx, recs)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("err %v; answered after the deadline: %v", err, ctx.Err())
	}
	if !slices.Equal(got, []string{"m1"}) {
		t.Errorf("failures = %v, want only the unpublished m1", got)
	}
}

// TestSlowParseFailsAlone: a message whose event takes forever to build fails when its
// share of the invocation's time runs out; its batch-mates are published, and the batch
// is answered well before the deadline — wherever the slow ones are in the batch.
func TestSlowParseFailsAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow []int // indexes of the slow messages among four
	}{
		{"second", []int{1}},
		{"first and last", []int{0, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := membus.New()
			unblock := make(chan struct{})
			defer close(unblock) // lets the given-up parses finish
			var logs bytes.Buffer
			h := &Handler{Bus: b, Logger: logging.New(&logs, "info"), buildEntry: func(source string, d peerdom.Delivery) (bus.Entry, error) {
				if strings.HasPrefix(d.ID, "d-slow") {
					<-unblock
				}
				return busentry.FromDelivery(source, d)
			}}
			var batch []queue.Message
			var wantFailed, wantPublished []string
			for i := range 4 {
				id := fmt.Sprintf("d%d", i)
				if slices.Contains(tc.slow, i) {
					id = fmt.Sprintf("d-slow%d", i)
					wantFailed = append(wantFailed, "m-"+id)
				} else {
					wantPublished = append(wantPublished, id)
				}
				batch = append(batch, record("m-"+id, envelope(t, id, roleText)))
			}
			const timeout = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			failed, err := h.Handle(ctx, batch)
			took := time.Since(start)
			if err != nil || !slices.Equal(failed, wantFailed) {
				t.Fatalf("failed %v, err %v; want %v", failed, err, wantFailed)
			}
			var ids []string
			for _, ev := range b.Events() {
				ids = append(ids, detailOf(t, ev).ID)
			}
			if !slices.Equal(ids, wantPublished) {
				t.Errorf("published %v, want the batch-mates %v", ids, wantPublished)
			}
			// Building gets half of the time left before the answer margin (0.75 s).
			if took > timeout/2 {
				t.Errorf("answered after %v; the slow messages should have been given up after their shares", took)
			}
			if n := strings.Count(logs.String(), ErrParseTimeout.Error()); n != len(tc.slow) {
				t.Errorf("%d lines give the parse timeout as the error, want %d: %s", n, len(tc.slow), logs.String())
			}
		})
	}
}

func TestParsePanicFailsAlone(t *testing.T) {
	b := membus.New()
	h := &Handler{Bus: b, buildEntry: func(source string, d peerdom.Delivery) (bus.Entry, error) {
		if d.ID == "d-panic" {
			panic("parser bug")
		}
		return busentry.FromDelivery(source, d)
	}}
	for _, withDeadline := range []bool{false, true} { // inline, and on its own goroutine
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if withDeadline {
			ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		}
		failed, err := h.Handle(ctx, []queue.Message{record("m-panic", envelope(t, "d-panic", roleText)), record("m1", envelope(t, "d1", roleText))})
		cancel()
		if err != nil || !slices.Equal(failed, []string{"m-panic"}) {
			t.Errorf("deadline %v: failed %v, err %v; want only m-panic", withDeadline, failed, err)
		}
	}
	if len(b.Events()) != 2 {
		t.Errorf("%d events, want d1 twice", len(b.Events()))
	}
}

// TestTooLargeIsNotRetried: under the queue's redrive, an event too large for the bus
// is deleted after its one attempt (retrying cannot help), not received five times and
// dead-lettered; its batch-mate is published.
func TestTooLargeIsNotRetried(t *testing.T) {
	q := memqueue.New()
	b := membus.New()
	// A message the queue takes whose event the bus does not: the role's name is repeated
	// in the detail's name, fields and text.
	huge := envelope(t, "d-huge", roleText+strings.Repeat("x", 100_000))
	if len(huge) > memqueue.MaxMessageBytes {
		t.Fatalf("the envelope (%d bytes) should fit the queue", len(huge))
	}
	for _, body := range []string{huge, envelope(t, "d-fine", roleText)} {
		if err := q.Send(context.Background(), body); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	h := &Handler{Bus: b}
	for range 3 {
		n, err := q.Poll(context.Background(), 10, func(ctx context.Context, batch []queue.Message) ([]string, error) {
			calls++
			return h.Handle(ctx, batch)
		})
		if err != nil || n == 0 {
			break
		}
	}
	if calls != 1 || q.Len() != 0 || q.InFlight() != 0 || len(q.DeadLetters()) != 0 {
		t.Errorf("%d batches, %d visible, %d in flight, %d dead; want one batch and nothing left", calls, q.Len(), q.InFlight(), len(q.DeadLetters()))
	}
	if evs := b.Events(); len(evs) != 1 || detailOf(t, evs[0]).ID != "d-fine" {
		t.Errorf("events %+v, want d-fine alone", evs)
	}
}

// TestConcurrentBatches runs batches on one Handler from many goroutines at once, as
// the local pipeline and a benchmark may: every event carries its own delivery's detail
// (the pooled detail buffers are not shared), and nothing is lost or duplicated.
func TestConcurrentBatches(t *testing.T) {
	b := membus.New()
	h := &Handler{Bus: b}
	const workers, batches, perBatch = 6, 10, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := range workers {
		wg.Go(func() {
			for i := range batches {
				var batch []queue.Message
				for j := range perBatch {
					id := fmt.Sprintf("d-%d-%d-%d", w, i, j)
					batch = append(batch, record("m-"+id, envelope(t, id, roleText+" "+id)))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				failed, err := h.Handle(ctx, batch)
				cancel()
				if err != nil || len(failed) != 0 {
					errs <- fmt.Errorf("worker %d batch %d: failed %v, err %v", w, i, failed, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]int{}
	for _, ev := range b.Events() {
		d := detailOf(t, ev)
		if !strings.HasSuffix(d.Text, " "+d.ID) {
			t.Errorf("event of %s carries the text of another delivery: %q", d.ID, d.Text)
		}
		seen[d.ID]++
	}
	duplicated := 0
	for _, n := range seen {
		duplicated += n - 1
	}
	const sent = workers * batches * perBatch
	if lost := sent - len(seen); lost != 0 || duplicated != 0 {
		t.Errorf("%d sent: %d published, %d lost, %d duplicated", sent, len(seen), lost, duplicated)
	}
}
