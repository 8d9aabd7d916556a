package boltstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/localpipeline/boltstore"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

const token = "s3cret-token-for-tests"

// counter is a target counting deliveries per delivery id; while stuck, it waits.
type counter struct {
	mu    sync.Mutex
	got   map[string]int
	stuck chan struct{} // closed: the target goes
}

func (c *counter) target(ctx context.Context, ev events.EventBridgeEvent) error {
	select {
	case <-c.stuck:
	case <-ctx.Done():
		return ctx.Err()
	}
	var d struct{ ID string }
	json.Unmarshal(ev.Detail, &d)
	c.mu.Lock()
	c.got[d.ID]++
	c.mu.Unlock()
	return nil
}

func pipeline(t *testing.T, path string, tgt localpipeline.Target, eventsOut *os.File) (*localpipeline.Pipeline, *boltstore.Store) {
	t.Helper()
	tk, err := ingest.NewTokens([]string{token})
	if err != nil {
		t.Fatal(err)
	}
	q := &memqueue.Queue{}
	st, err := boltstore.Open(path, q)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.Pending()
	if err != nil {
		t.Fatal(err)
	}
	_, at, _ := st.EventsOut()
	pat, _ := eventpattern.Compile([]byte(`{"source":["peerdom"]}`))
	cfg := localpipeline.Config{Tokens: tk, Queue: q, Store: st, Pending: pending, EventsOutAt: max(at, 0),
		Routes: []localpipeline.Route{{Function: "Fn", Rule: "R", Pattern: pat, Target: tgt}}}
	if eventsOut != nil {
		cfg.EventsOut = eventsOut
	}
	return localpipeline.New(cfg), st
}

// TestStopAndRestart: webhooks acknowledged by a pipeline whose target is stuck are on
// the bus (or queued) when it stops; a new pipeline on the same file delivers each to the
// target once, and puts none on the bus twice.
func TestStopAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.db")
	c1 := &counter{got: map[string]int{}, stuck: make(chan struct{})}
	p1, st1 := pipeline(t, path, c1.target, nil)
	ctx, cancel := context.WithCancel(context.Background())
	p1.Start(ctx, 2)
	srv := httptest.NewServer(p1.WebhookHandler())
	acked := map[string]bool{}
	for i := range 30 {
		resp, err := http.Post(srv.URL+"/webhooks/"+token, "application/json", strings.NewReader(fmt.Sprintf(`{"text":"restart %d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		var ans struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		acked[ans.ID] = true
	}
	srv.Close()
	pending := p1.Stop(cancel) // the targets never went: everything is pending or queued
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("at stop: %d actions pending, %d queued, %d on the bus", len(pending), len(p1.Queue.Pending()), p1.Bus.Accepted())
	if len(pending) == 0 {
		t.Fatal("nothing pending at stop: the test shows no restart")
	}

	c2 := &counter{got: map[string]int{}, stuck: make(chan struct{})}
	close(c2.stuck)
	p2, st2 := pipeline(t, path, c2.target, nil)
	defer st2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	p2.Start(ctx2, 2)
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	if err := p2.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	p2.Close()
	if got := p1.Bus.Accepted() + p2.Bus.Accepted(); got != len(acked) {
		t.Errorf("%d events on the bus over both runs for %d acknowledged", got, len(acked))
	}
	for id := range acked {
		if n := c1.got[id] + c2.got[id]; n != 1 {
			t.Errorf("delivery %s reached the target %d times", id, n)
		}
	}
	if left, err := st2.Pending(); err != nil || len(left) != 0 {
		t.Errorf("after the drain, %d actions still stored (%v)", len(left), err)
	}
}

// TestOneProcessPerFile: a second Open of a file in use is refused with ErrLocked.
func TestOneProcessPerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.db")
	st, err := boltstore.Open(path, &memqueue.Queue{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := boltstore.Open(path, &memqueue.Queue{}); !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

// TestBusFaultsWithStore: with the store, the bus refusing whole calls and single entries
// at random (seeded; each kind forced on its first chance), every acknowledged webhook
// still reaches the bus once and its target once, counted per delivery id.
func TestBusFaultsWithStore(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	var rmu sync.Mutex
	var callFaults, entryFaults int
	b := &membus.Bus{
		FailCall: func([]bus.Entry) error {
			rmu.Lock()
			defer rmu.Unlock()
			if callFaults == 0 || rng.IntN(5) == 0 {
				callFaults++
				return errors.New("injected: bus unreachable")
			}
			return nil
		},
		FailEntry: func(bus.Entry) (string, string) {
			rmu.Lock()
			defer rmu.Unlock()
			if entryFaults == 0 || rng.IntN(5) == 0 {
				entryFaults++
				return "InternalFailure", "injected"
			}
			return "", ""
		},
	}
	onBus := map[string]int{}
	var bmu sync.Mutex
	b.Subscribe(func(e membus.Event) {
		var d struct{ ID string }
		json.Unmarshal(e.CloudWatchEvent().Detail, &d)
		bmu.Lock()
		onBus[d.ID]++
		bmu.Unlock()
	})
	path := filepath.Join(t.TempDir(), "serve.db")
	c := &counter{got: map[string]int{}, stuck: make(chan struct{})}
	close(c.stuck)
	tk, _ := ingest.NewTokens([]string{token})
	q := &memqueue.Queue{MaxReceives: 50}
	st, err := boltstore.Open(path, q)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pat, _ := eventpattern.Compile([]byte(`{"source":["peerdom"]}`))
	p := localpipeline.New(localpipeline.Config{Tokens: tk, Queue: q, Bus: b, Store: st,
		Routes: []localpipeline.Route{{Function: "Fn", Rule: "R", Pattern: pat, Target: c.target}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx, 4)
	srv := httptest.NewServer(p.WebhookHandler())
	defer srv.Close()
	acked := map[string]bool{}
	var amu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 40 {
				resp, err := http.Post(srv.URL+"/webhooks/"+token, "application/json", strings.NewReader(fmt.Sprintf(`{"text":"fault %d-%d"}`, g, i)))
				if err != nil {
					t.Error(err)
					return
				}
				var ans struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&ans)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					amu.Lock()
					acked[ans.ID] = true
					amu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer dcancel()
	if err := p.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	bmu.Lock()
	defer bmu.Unlock()
	var lost, dup int
	for id := range acked {
		switch {
		case onBus[id] == 0 || c.got[id] == 0:
			lost++
		case onBus[id] > 1 || c.got[id] > 1:
			dup++
		}
	}
	t.Logf("acknowledged %d; call faults %d, entry faults %d; lost %d, duplicated %d; queue dead letters %d", len(acked), callFaults, entryFaults, lost, dup, len(q.DeadLetters()))
	if callFaults == 0 || entryFaults == 0 {
		t.Fatalf("faults did not fire: %d calls, %d entries", callFaults, entryFaults)
	}
	if lost != 0 || dup != 0 || len(acked) != 160 {
		t.Fatalf("of %d acknowledged: %d lost, %d duplicated", len(acked), lost, dup)
	}
}
