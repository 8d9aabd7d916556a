package memqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func send(t *testing.T, q *Queue, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := q.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSendReceiveDelete(t *testing.T) {
	q := New()
	send(t, q, "a", "b", "c")
	got := q.Receive(2)
	if len(got) != 2 || got[0].Body != "a" || got[1].Body != "b" || got[0].ReceiveCount != 1 || got[0].ID == got[1].ID {
		t.Fatalf("Receive(2) = %+v", got)
	}
	if q.Len() != 1 || q.InFlight() != 2 {
		t.Errorf("len %d in flight %d", q.Len(), q.InFlight())
	}
	if !q.Delete(got[0].ID) || q.Delete(got[0].ID) {
		t.Error("Delete should succeed once")
	}
	if !q.Release(got[1].ID) {
		t.Error("Release failed")
	}
	again := q.Receive(10)
	if len(again) != 2 || again[0].Body != "c" || again[1].Body != "b" || again[1].ReceiveCount != 2 || again[1].ID != got[1].ID {
		t.Fatalf("after release: %+v", again)
	}
}

func TestReleaseMovesToDeadLettersAfterMaxReceives(t *testing.T) {
	q := &Queue{MaxReceives: 3}
	send(t, q, "poison")
	for i := 1; i <= 3; i++ {
		m := q.Receive(1)
		if len(m) != 1 || m[0].ReceiveCount != i {
			t.Fatalf("receive %d: %+v", i, m)
		}
		q.Release(m[0].ID)
	}
	if q.Len() != 0 || q.InFlight() != 0 {
		t.Fatalf("len %d in flight %d", q.Len(), q.InFlight())
	}
	dead := q.DeadLetters()
	if len(dead) != 1 || dead[0].Body != "poison" || dead[0].ReceiveCount != 3 {
		t.Fatalf("dead letters: %+v", dead)
	}
}

func TestSendFailuresAndLimits(t *testing.T) {
	q := New()
	down := errors.New("queue unreachable")
	q.FailSend = func(string) error { return down }
	if err := q.Send(context.Background(), "x"); !errors.Is(err, down) {
		t.Errorf("err = %v", err)
	}
	q.FailSend = nil
	if err := q.Send(context.Background(), strings.Repeat("x", MaxMessageBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize err = %v", err)
	}
	if err := q.Send(context.Background(), ""); err == nil {
		t.Error("empty body accepted")
	}
	if err := q.Send(context.Background(), strings.Repeat("x", MaxMessageBytes)); err != nil {
		t.Errorf("a message of exactly the limit was refused: %v", err)
	}
	if q.Len() != 1 {
		t.Errorf("len = %d, want 1", q.Len())
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
	q := &Queue{Name: "webhooks"}
	for i := range 12 {
		send(t, q, fmt.Sprint(i))
	}
	var seen events.SQSEvent
	n, err := q.Poll(context.Background(), 50, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		seen = ev
		// fail the messages with bodies "2" and "7"
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.Body == "2" || r.Body == "7" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	})
	if err != nil || n != MaxBatch || len(seen.Records) != MaxBatch {
		t.Fatalf("Poll = %d, %v with %d records", n, err, len(seen.Records))
	}
	r := seen.Records[0]
	if r.EventSource != "aws:sqs" || !strings.HasSuffix(r.EventSourceARN, ":webhooks") || r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" {
		t.Errorf("record = %+v", r)
	}
	if q.InFlight() != 0 || q.Len() != 4 { // "10", "11", then the released "2", "7"
		t.Fatalf("len %d in flight %d", q.Len(), q.InFlight())
	}
	rest := q.Receive(10)
	var bodies []string
	for _, m := range rest {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, ",") != "10,11,2,7" {
		t.Errorf("remaining %v", bodies)
	}
}

func TestPollHandlerErrorReleasesAll(t *testing.T) {
	q := New()
	send(t, q, "a", "b")
	boom := errors.New("boom")
	n, err := q.Poll(context.Background(), 10, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, boom
	})
	if n != 2 || !errors.Is(err, boom) || q.Len() != 2 || q.InFlight() != 0 {
		t.Fatalf("n %d err %v len %d in flight %d", n, err, q.Len(), q.InFlight())
	}
}

func TestPollUnknownIdentifierFailsBatch(t *testing.T) {
	for _, id := range []string{"", "not-in-batch"} {
		q := New()
		send(t, q, "a", "b")
		_, err := q.Poll(context.Background(), 10, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: id}}}, nil
		})
		if err == nil || q.Len() != 2 {
			t.Errorf("identifier %q: err %v, len %d; want the whole batch released", id, err, q.Len())
		}
	}
}

func TestPollEmpty(t *testing.T) {
	called := false
	n, err := New().Poll(context.Background(), 10, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		called = true
		return events.SQSEventResponse{}, nil
	})
	if n != 0 || err != nil || called {
		t.Fatalf("n %d err %v called %v", n, err, called)
	}
}
