package stackview

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func rawEvent(n int) Event {
	return Event{Raw: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func seqs(evs []Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func TestRingKeepsTheLastNByCount(t *testing.T) {
	r := newRing(5, 1<<30)
	for i := range 12 {
		if e := r.add(rawEvent(i)); e.Seq != uint64(i+1) {
			t.Fatalf("event %d got Seq %d", i, e.Seq)
		}
	}
	evs, _ := r.since(0, 0)
	if got := fmt.Sprint(seqs(evs)); got != "[8 9 10 11 12]" {
		t.Errorf("held %s, want the last five", got)
	}
	for i, e := range evs {
		if string(e.Raw) != fmt.Sprintf(`{"n":%d}`, 7+i) {
			t.Errorf("event %d holds %s", e.Seq, e.Raw)
		}
	}
	if evs, _ := r.since(10, 0); fmt.Sprint(seqs(evs)) != "[11 12]" {
		t.Errorf("since 10: %v", seqs(evs))
	}
	if evs, _ := r.since(0, 2); fmt.Sprint(seqs(evs)) != "[11 12]" {
		t.Errorf("the newest two: %v", seqs(evs))
	}
	if _, ok := r.get(7); ok {
		t.Error("event 7 was dropped but get found it")
	}
	if e, ok := r.get(9); !ok || e.Seq != 9 || string(e.Raw) != `{"n":8}` {
		t.Errorf("get(9) = %+v %v", e, ok)
	}
	if _, ok := r.get(13); ok {
		t.Error("get of a Seq not yet given found one")
	}
	held, bytes, dropped, total := r.stats()
	if held != 5 || dropped != 7 || total != 12 || bytes != 5*rawEvent(0).size()+(rawEvent(10).size()-rawEvent(0).size())*2 {
		t.Errorf("stats held %d bytes %d dropped %d total %d", held, bytes, dropped, total)
	}
	if cap(r.buf) > 5 {
		t.Errorf("the buffer grew to %d, past the ring's 5", cap(r.buf))
	}
}

// Big events push out old ones by bytes before the count is reached; an event bigger
// than the whole budget still stays (alone), so the newest event is always shown.
func TestRingBoundsBytes(t *testing.T) {
	big := func(kb int) Event {
		return Event{Raw: json.RawMessage(`"` + strings.Repeat("x", kb<<10) + `"`)}
	}
	budget := 3 * big(100).size()
	r := newRing(1000, budget)
	for range 10 {
		r.add(big(100))
		if _, bytes, _, _ := r.stats(); bytes > budget {
			t.Fatalf("ring holds %d bytes, over its %d", bytes, budget)
		}
	}
	if held, _, dropped, _ := r.stats(); held != 3 || dropped != 7 {
		t.Errorf("held %d dropped %d, want 3 and 7", held, dropped)
	}
	r.add(big(1000))
	if held, _, _, total := r.stats(); held != 1 {
		t.Errorf("after an event over the budget: held %d", held)
	} else if e, ok := r.get(total); !ok || len(e.Raw) != 1000<<10+2 {
		t.Errorf("the big event is not the one held")
	}
	r.add(big(1))
	if evs, _ := r.since(0, 0); fmt.Sprint(seqs(evs)) != "[12]" {
		t.Errorf("after a small one: %v, want only it (the big one and it are over the budget)", seqs(evs))
	}
}

// Readers waiting on the ring each see every event, in order, while a writer adds
// them; a reader that is slower than the ring sees a gap, never a duplicate.
func TestRingWaitWakesEveryReader(t *testing.T) {
	const events, readers = 300, 4
	r := newRing(events, 1<<30)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make([][]uint64, readers)
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for last < events {
				evs, err := r.wait(ctx, last, 0)
				if err != nil {
					t.Errorf("reader %d: %v after %d", i, err, last)
					return
				}
				for _, e := range evs {
					got[i] = append(got[i], e.Seq)
				}
				last = evs[len(evs)-1].Seq
			}
		}()
	}
	for i := range events {
		r.add(rawEvent(i))
	}
	wg.Wait()
	for i, s := range got {
		if len(s) != events {
			t.Errorf("reader %d saw %d events", i, len(s))
			continue
		}
		for j, seq := range s {
			if seq != uint64(j+1) {
				t.Errorf("reader %d: event %d has Seq %d", i, j, seq)
				break
			}
		}
	}
	// A wait with nothing new ends with its context.
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if _, err := r.wait(short, events, 0); err != context.Canceled {
		t.Errorf("wait on a cancelled context: %v", err)
	}
}
