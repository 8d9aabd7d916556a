package memqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/queuetest"
)

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, maxReceives int) queuetest.Instance {
		q := &Queue{MaxReceives: maxReceives}
		taken := 0 // DeadLetters hands out each dead letter once, as a receive from a DLQ does
		return queuetest.Instance{Queue: q, DeadLetters: func(testing.TB) []queue.Message {
			dead := q.DeadLetters()
			out := dead[taken:]
			taken = len(dead)
			return out
		}}
	}, queuetest.Features{
		FIFO:                true,
		DeadLetterOnRelease: true,
		Visibility:          250 * time.Millisecond,
		MaxMessageBytes:     MaxMessageBytes,
	})
}

var ctx = context.Background()

func send(t *testing.T, q *Queue, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := q.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

func receive(t *testing.T, q *Queue, max int) []queue.Message {
	t.Helper()
	ms, err := q.Receive(ctx, max, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestSendReceiveDeleteRelease(t *testing.T) {
	q := New()
	send(t, q, "a", "b", "c")
	if v := q.Visible(); len(v) != 3 || v[0].Body != "a" || v[2].Body != "c" || v[0].ReceiveCount != 0 {
		t.Fatalf("Visible() = %+v", v)
	}
	got := receive(t, q, 2)
	if len(got) != 2 || got[0].Body != "a" || got[1].Body != "b" || got[0].ReceiveCount != 1 || got[0].ID == got[1].ID {
		t.Fatalf("Receive(2) = %+v", got)
	}
	if q.Len() != 1 || q.InFlight() != 2 {
		t.Errorf("len %d in flight %d", q.Len(), q.InFlight())
	}
	if err := q.Delete(ctx, got[0].Receipt); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(ctx, got[0].Receipt); !errors.Is(err, ErrUnknownReceipt) {
		t.Errorf("second Delete: %v, want ErrUnknownReceipt", err)
	}
	if err := q.ChangeVisibility(ctx, got[1].Receipt, 0); err != nil {
		t.Fatal(err)
	}
	again := receive(t, q, 10)
	if len(again) != 2 || again[0].Body != "c" || again[1].Body != "b" || again[1].ReceiveCount != 2 || again[1].ID != got[1].ID {
		t.Fatalf("after release: %+v", again)
	}
	// The first receive's receipt is stale now.
	if err := q.Delete(ctx, got[1].Receipt); !errors.Is(err, ErrUnknownReceipt) {
		t.Errorf("Delete with a stale receipt: %v, want ErrUnknownReceipt", err)
	}
}

func TestReleaseMovesToDeadLettersAfterMaxReceives(t *testing.T) {
	q := &Queue{MaxReceives: 3}
	send(t, q, "poison")
	for i := 1; i <= 3; i++ {
		m := receive(t, q, 1)
		if len(m) != 1 || m[0].ReceiveCount != i {
			t.Fatalf("receive %d: %+v", i, m)
		}
		if err := q.ChangeVisibility(ctx, m[0].Receipt, 0); err != nil {
			t.Fatal(err)
		}
	}
	if q.Len() != 0 || q.InFlight() != 0 {
		t.Fatalf("len %d in flight %d", q.Len(), q.InFlight())
	}
	dead := q.DeadLetters()
	if len(dead) != 1 || dead[0].Body != "poison" || dead[0].ReceiveCount != 3 {
		t.Fatalf("dead letters: %+v", dead)
	}
}

func TestVisibilityTimeoutDeadLettersAfterMaxReceives(t *testing.T) {
	q := &Queue{MaxReceives: 1}
	send(t, q, "stuck")
	if ms, _ := q.Receive(ctx, 1, time.Millisecond); len(ms) != 1 {
		t.Fatal("not received")
	}
	time.Sleep(5 * time.Millisecond)
	if q.InFlight() != 0 || q.Len() != 0 || len(q.DeadLetters()) != 1 {
		t.Fatalf("in flight %d, visible %d, dead %d; want the timed-out message dead-lettered", q.InFlight(), q.Len(), len(q.DeadLetters()))
	}
}

func TestSendFailuresAndLimits(t *testing.T) {
	q := New()
	down := errors.New("queue unreachable")
	q.FailSend = func(string) error { return down }
	if err := q.Send(ctx, "x"); !errors.Is(err, down) {
		t.Errorf("err = %v", err)
	}
	q.FailSend = nil
	if err := q.Send(ctx, strings.Repeat("x", MaxMessageBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize err = %v", err)
	}
	if err := q.Send(ctx, ""); err == nil {
		t.Error("empty body accepted")
	}
	if q.Len() != 0 {
		t.Errorf("len = %d, want 0", q.Len())
	}
}

func TestReady(t *testing.T) {
	q := New()
	select {
	case <-q.Ready():
		t.Fatal("ready before any message")
	default:
	}
	send(t, q, "a", "b")
	select {
	case <-q.Ready():
	default:
		t.Fatal("not ready after Send")
	}
}

func TestPollSettlesLikeLambda(t *testing.T) {
	q := New()
	for i := range 12 {
		send(t, q, fmt.Sprint(i))
	}
	var seen []queue.Message
	n, err := q.Poll(ctx, 50, func(_ context.Context, batch []queue.Message) ([]string, error) {
		seen = batch
		var failed []string // the messages with bodies "2" and "7"
		for _, m := range batch {
			if m.Body == "2" || m.Body == "7" {
				failed = append(failed, m.ID)
			}
		}
		return failed, nil
	})
	if err != nil || n != MaxBatch || len(seen) != MaxBatch {
		t.Fatalf("Poll = %d, %v with %d messages", n, err, len(seen))
	}
	if m := seen[0]; m.ReceiveCount != 1 || m.SentAt.IsZero() || m.Receipt == "" {
		t.Errorf("message = %+v", m)
	}
	if q.InFlight() != 0 || q.Len() != 4 { // "10", "11", then the released "2", "7"
		t.Fatalf("len %d in flight %d", q.Len(), q.InFlight())
	}
	var rest []string
	for _, m := range receive(t, q, 10) {
		rest = append(rest, m.Body)
	}
	if !slices.Equal(rest, []string{"10", "11", "2", "7"}) {
		t.Errorf("remaining %v", rest)
	}
}

func TestPollHandlerErrorReleasesAll(t *testing.T) {
	q := New()
	send(t, q, "a", "b")
	boom := errors.New("boom")
	n, err := q.Poll(ctx, 10, func(context.Context, []queue.Message) ([]string, error) { return nil, boom })
	if n != 2 || !errors.Is(err, boom) || q.Len() != 2 || q.InFlight() != 0 {
		t.Fatalf("n %d err %v len %d in flight %d", n, err, q.Len(), q.InFlight())
	}
}

func TestPollUnknownIdentifierFailsBatch(t *testing.T) {
	for _, id := range []string{"", "not-in-batch"} {
		q := New()
		send(t, q, "a", "b")
		_, err := q.Poll(ctx, 10, func(context.Context, []queue.Message) ([]string, error) { return []string{id}, nil })
		if err == nil || q.Len() != 2 {
			t.Errorf("identifier %q: err %v, len %d; want the whole batch released", id, err, q.Len())
		}
	}
}

func TestPollEmpty(t *testing.T) {
	called := false
	n, err := New().Poll(ctx, 10, func(context.Context, []queue.Message) ([]string, error) {
		called = true
		return nil, nil
	})
	if n != 0 || err != nil || called {
		t.Fatalf("n %d err %v called %v", n, err, called)
	}
}
