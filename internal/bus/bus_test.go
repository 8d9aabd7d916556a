package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
)

func entry(i, detailBytes int) bus.Entry {
	// A JSON object of exactly detailBytes bytes: {"n":"<i>","p":"xxx…"}
	head := fmt.Sprintf(`{"n":"%d","p":"`, i)
	pad := max(detailBytes-len(head)-2, 0)
	return bus.Entry{Source: "test", DetailType: "T", Detail: head + strings.Repeat("x", pad) + `"}`, Time: time.Unix(1700000000, 0)}
}

func TestSize(t *testing.T) {
	e := bus.Entry{Source: "peerdom", DetailType: "Role Created", Detail: `{"é":1}`, Resources: []string{"arn:a", "b"}}
	// 14 for the time + 7 + 12 + 8 (é is two bytes) + 5 + 1
	if got, want := e.Size(), 14+7+12+8+5+1; got != want {
		t.Errorf("Size = %d, want %d", got, want)
	}
}

func TestResultErr(t *testing.T) {
	if err := (bus.Result{EventID: "x"}).Err(); err != nil {
		t.Errorf("accepted result has error %v", err)
	}
	err := (bus.Result{ErrorCode: "ThrottlingException", ErrorMessage: "slow down"}).Err()
	var ee *bus.EntryError
	if !errors.As(err, &ee) || ee.Code != "ThrottlingException" || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("Err = %v", err)
	}
}

func TestPublishSplitsByCount(t *testing.T) {
	b := membus.New()
	entries := make([]bus.Entry, 23)
	for i := range entries {
		entries[i] = entry(i, 100)
	}
	got := bus.Publish(context.Background(), b, entries)
	for i, p := range got {
		if p.Err != nil || p.EventID == "" {
			t.Fatalf("entry %d: %+v", i, p)
		}
	}
	if b.Calls() != 3 {
		t.Errorf("calls = %d, want 3 (10+10+3)", b.Calls())
	}
	evs := b.Events()
	for i, ev := range evs {
		if ev.Entry.Detail != entries[i].Detail || ev.ID != got[i].EventID {
			t.Fatalf("event %d out of order or with the wrong id", i)
		}
	}
}

func TestPublishSplitsBySize(t *testing.T) {
	b := membus.New()
	// Each entry is ~100 KB: two fit in a call, three do not.
	entries := []bus.Entry{entry(0, 100_000), entry(1, 100_000), entry(2, 100_000), entry(3, 100)}
	got := bus.Publish(context.Background(), b, entries)
	for i, p := range got {
		if p.Err != nil {
			t.Fatalf("entry %d failed: %v", i, p.Err)
		}
	}
	if b.Calls() != 2 {
		t.Errorf("calls = %d, want 2", b.Calls())
	}
}

func TestPublishExactLimitFits(t *testing.T) {
	b := membus.New()
	e := entry(0, 0)
	e.Detail = ""
	overhead := e.Size()
	e = entry(0, bus.MaxPutBytes-overhead)
	if e.Size() != bus.MaxPutBytes {
		t.Fatalf("test entry is %d bytes, want exactly %d", e.Size(), bus.MaxPutBytes)
	}
	got := bus.Publish(context.Background(), b, []bus.Entry{e, entry(1, 10)})
	if got[0].Err != nil || got[1].Err != nil {
		t.Fatalf("got %+v", got)
	}
	if b.Calls() != 2 {
		t.Errorf("calls = %d, want 2 (the full entry alone, then the small one)", b.Calls())
	}
}

func TestPublishTooLargeEntryFailsAlone(t *testing.T) {
	b := membus.New()
	entries := []bus.Entry{entry(0, 10), entry(1, bus.MaxPutBytes), entry(2, 10)}
	got := bus.Publish(context.Background(), b, entries)
	if !errors.Is(got[1].Err, bus.ErrEntryTooLarge) {
		t.Errorf("entry 1: err = %v, want ErrEntryTooLarge", got[1].Err)
	}
	if got[0].Err != nil || got[2].Err != nil {
		t.Errorf("the small entries should pass: %+v", got)
	}
	if b.Calls() != 1 || len(b.Events()) != 2 {
		t.Errorf("calls = %d, events = %d; want 1 call with 2 entries", b.Calls(), len(b.Events()))
	}
}

func TestPublishEntryFailures(t *testing.T) {
	b := membus.New()
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, `"n":"3"`) || strings.Contains(e.Detail, `"n":"11"`) {
			return "InternalFailure", "try again"
		}
		return "", ""
	}
	entries := make([]bus.Entry, 12)
	for i := range entries {
		entries[i] = entry(i, 50)
	}
	got := bus.Publish(context.Background(), b, entries)
	for i, p := range got {
		failed := i == 3 || i == 11
		if failed != (p.Err != nil) || failed == (p.EventID != "") {
			t.Errorf("entry %d: %+v, want failed=%v", i, p, failed)
		}
	}
	var ee *bus.EntryError
	if !errors.As(got[3].Err, &ee) || ee.Code != "InternalFailure" {
		t.Errorf("entry 3 error = %v", got[3].Err)
	}
}

func TestPublishCallFailureFailsOnlyItsChunk(t *testing.T) {
	b := membus.New()
	outage := errors.New("connection refused")
	call := 0
	b.FailCall = func([]bus.Entry) error {
		call++
		if call == 2 {
			return outage
		}
		return nil
	}
	entries := make([]bus.Entry, 25)
	for i := range entries {
		entries[i] = entry(i, 50)
	}
	got := bus.Publish(context.Background(), b, entries)
	for i, p := range got {
		inSecond := i >= 10 && i < 20
		if inSecond {
			if !errors.Is(p.Err, outage) {
				t.Errorf("entry %d: err = %v, want the outage", i, p.Err)
			}
		} else if p.Err != nil {
			t.Errorf("entry %d: unexpected error %v", i, p.Err)
		}
	}
	if len(b.Events()) != 15 {
		t.Errorf("bus has %d events, want 15", len(b.Events()))
	}
}

// shortAnswer answers fewer results than entries, which must not pass as success.
type shortAnswer struct{}

func (shortAnswer) PutEvents(_ context.Context, e []bus.Entry) ([]bus.Result, error) {
	return make([]bus.Result, len(e)-1), nil
}

func TestPublishShortAnswerFailsTheCall(t *testing.T) {
	got := bus.Publish(context.Background(), shortAnswer{}, []bus.Entry{entry(0, 10), entry(1, 10)})
	for i, p := range got {
		if p.Err == nil {
			t.Errorf("entry %d: no error for a short answer", i)
		}
	}
}

func TestPublishNothing(t *testing.T) {
	b := membus.New()
	if got := bus.Publish(context.Background(), b, nil); len(got) != 0 || b.Calls() != 0 {
		t.Errorf("Publish(nil) = %v with %d calls", got, b.Calls())
	}
}
