package membus

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
)

func TestPutEventsAcceptsAndRecords(t *testing.T) {
	b := New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	res, err := b.PutEvents(context.Background(), []bus.Entry{
		{Source: "peerdom", DetailType: "Role Created", Detail: `{"id":"1"}`, Time: at},
		{Source: "peerdom", DetailType: "Role Updated", Detail: `{"id":"2"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := b.Events()
	if len(evs) != 2 || evs[0].ID != res[0].EventID || evs[1].ID != res[1].EventID || evs[0].ID == evs[1].ID {
		t.Fatalf("events %+v, results %+v", evs, res)
	}
	if !evs[0].Time.Equal(at) || evs[0].Time.Location() != time.UTC {
		t.Errorf("time = %v, want %v in UTC", evs[0].Time, at)
	}
	if evs[1].Time.IsZero() {
		t.Error("an entry without time should get the receive time")
	}
}

func TestPutEventsValidatesLikeEventBridge(t *testing.T) {
	b := New()
	res, err := b.PutEvents(context.Background(), []bus.Entry{
		{Source: "", DetailType: "T", Detail: `{}`},
		{Source: "s", DetailType: "", Detail: `{}`},
		{Source: "s", DetailType: "T", Detail: ``},
		{Source: "s", DetailType: "T", Detail: `[1]`},
		{Source: "s", DetailType: "T", Detail: `{}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{"InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail", ""}
	for i, c := range codes {
		if res[i].ErrorCode != c {
			t.Errorf("entry %d: code %q, want %q", i, res[i].ErrorCode, c)
		}
	}
	if len(b.Events()) != 1 {
		t.Errorf("%d events accepted, want 1", len(b.Events()))
	}

	var ve *ValidationError
	if _, err := b.PutEvents(context.Background(), make([]bus.Entry, 11)); !errors.As(err, &ve) {
		t.Errorf("11 entries: err = %v, want ValidationError", err)
	}
	if _, err := b.PutEvents(context.Background(), nil); !errors.As(err, &ve) {
		t.Errorf("no entries: err = %v, want ValidationError", err)
	}
	big := bus.Entry{Source: "s", DetailType: "T", Detail: `{"p":"` + strings.Repeat("x", 140_000) + `"}`}
	if _, err := b.PutEvents(context.Background(), []bus.Entry{big, big}); !errors.As(err, &ve) {
		t.Errorf("two 140 KB entries: err = %v, want ValidationError", err)
	}
	if len(b.Events()) != 1 {
		t.Error("a refused call must accept nothing")
	}
}

func TestFaultHooks(t *testing.T) {
	b := New()
	b.FailEntry = func(e bus.Entry) (string, string) {
		if e.DetailType == "Bad" {
			return "InternalFailure", "injected"
		}
		return "", ""
	}
	res, err := b.PutEvents(context.Background(), []bus.Entry{
		{Source: "s", DetailType: "Good", Detail: `{}`},
		{Source: "s", DetailType: "Bad", Detail: `{}`},
	})
	if err != nil || res[0].Err() != nil || res[1].ErrorCode != "InternalFailure" {
		t.Fatalf("res = %+v, err = %v", res, err)
	}

	down := errors.New("bus down")
	b.FailCall = func([]bus.Entry) error { return down }
	if _, err := b.PutEvents(context.Background(), []bus.Entry{{Source: "s", DetailType: "Good", Detail: `{}`}}); !errors.Is(err, down) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	if len(b.Events()) != 1 || b.Calls() != 2 {
		t.Errorf("events = %d, calls = %d", len(b.Events()), b.Calls())
	}
}

func TestSubscribersSeeAcceptedEventsInOrderAndMayPut(t *testing.T) {
	b := New()
	var seen []string
	b.Subscribe(func(ev Event) {
		seen = append(seen, ev.Entry.DetailType)
		if ev.Entry.DetailType == "First" {
			// A consumer that publishes in turn (like the enrich action) must not deadlock.
			if _, err := b.PutEvents(context.Background(), []bus.Entry{{Source: "s", DetailType: "Follow-up", Detail: `{}`}}); err != nil {
				t.Error(err)
			}
		}
	})
	_, err := b.PutEvents(context.Background(), []bus.Entry{
		{Source: "s", DetailType: "First", Detail: `{}`},
		{Source: "s", DetailType: "", Detail: `{}`},
		{Source: "s", DetailType: "Second", Detail: `{}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ","); got != "First,Follow-up,Second" {
		t.Errorf("subscriber saw %s", got)
	}
}

func TestCloudWatchEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := Event{ID: "e-1", Time: at, Entry: bus.Entry{Source: "peerdom", DetailType: "Peer Created", Detail: `{"id":"d"}`}}
	cw := ev.CloudWatchEvent()
	b, err := json.Marshal(cw)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"0","id":"e-1","detail-type":"Peer Created","source":"peerdom","account":"000000000000","time":"2026-01-02T03:04:05Z","region":"local","resources":[],"detail":{"id":"d"}}`
	if string(b) != want {
		t.Errorf("event JSON\n got %s\nwant %s", b, want)
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().PutEvents(ctx, []bus.Entry{{Source: "s", DetailType: "T", Detail: `{}`}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
