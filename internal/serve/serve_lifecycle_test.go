package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func testOptions(t *testing.T) Options {
	return Options{
		Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "test-token",
		Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "error",
		EventsOut: filepath.Join(t.TempDir(), "events.jsonl"), DrainFor: 20 * time.Second,
		MaxBacklog: DefaultMaxBacklog, MaxConns: DefaultMaxConns,
	}
}

// TestServeSandboxWriteAtStart: a client writes to the sandbox API the instant its port
// exists, 200 times. The sandbox's webhook for that write must reach a built pipeline
// (before, the sandbox answered before the pipeline existed and the webhook went into a
// nil handler: serve died).
func TestServeSandboxWriteAtStart(t *testing.T) {
	for round := range 200 {
		opts := testOptions(t)
		opts.NoActions = true
		opts.EventsOut = ""
		wrote := make(chan error, 1)
		calls := 0
		opts.Listen = func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if calls++; calls == 2 && err == nil { // the sandbox's port: write to it at once
				base := "http://" + ln.Addr().String() + peerdomtest.APIPrefix
				go func() {
					api, err := peerdomapi.New(base, "peerdomtest-key")
					if err == nil {
						_, err = api.Peers().Create(context.Background(), peerdomapi.PeerInput{FirstName: "Early", LastName: fmt.Sprint(round)})
					}
					wrote <- err
				}()
			}
			return ln, err
		}
		out := &syncBuffer{}
		s, err := Start(context.Background(), opts, out, out)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-wrote; err != nil {
			t.Fatalf("round %d: the write at start failed: %v", round, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if got := s.pipeline.Bus.Accepted(); got != 1 || strings.Contains(out.String(), "refused") {
			t.Fatalf("round %d: %d events on the bus, want the write's 1; output:\n%s", round, got, out.String())
		}
	}
}

// TestServeConnectionLimit: with --max-conns 2 and two connections held open, a third
// client is not served until one of them closes.
func TestServeConnectionLimit(t *testing.T) {
	opts := testOptions(t)
	opts.NoActions, opts.MaxConns = true, 2
	s, err := Start(context.Background(), opts, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	host := strings.TrimPrefix(strings.SplitN(s.webhookURL, "/webhooks/", 2)[0], "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	body := `{"text":"limit"}`
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := client.Post(s.webhookURL, "application/json", strings.NewReader(body)); err == nil {
		resp.Body.Close()
		t.Fatalf("a third connection was served (%d) while two were held", resp.StatusCode)
	}
	held[0].Close()
	client.Timeout = 10 * time.Second
	resp, err := client.Post(s.webhookURL, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("after one held connection closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	held[1].Close()
}

// TestServeBacklogBound: with the bus stalled (the fault), the queue fills to
// --max-backlog; past it ingest answers 503 with Retry-After, and every accepted webhook
// reaches the bus once the bus recovers: counted delivered (on the bus once), duplicated
// and lost; 6 concurrent clients, 5 rounds.
func TestServeBacklogBound(t *testing.T) {
	for round := range 5 {
		opts := testOptions(t)
		opts.NoActions, opts.MaxBacklog = true, 20
		gate := make(chan struct{})
		var stalledCalls atomic.Int64
		opts.BusHook = func(b *membus.Bus) {
			b.FailCall = func([]bus.Entry) error {
				select {
				case <-gate:
				default:
					stalledCalls.Add(1)
					<-gate
				}
				return nil
			}
		}
		s, err := Start(context.Background(), opts, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var busy atomic.Int64
		var mu sync.Mutex
		acked := map[string]bool{}
		// Its own transport, closed before the shutdown: a connection the transport dialed
		// but never used is one the server waits 5 seconds for (net/http counts a new
		// connection idle only after 5 s).
		client := &http.Client{Transport: &http.Transport{}}
		var wg sync.WaitGroup
		for c := range 6 {
			wg.Go(func() {
				for i := range 5 {
					resp, err := client.Post(s.webhookURL, "application/json", strings.NewReader(fmt.Sprintf(`{"text":"backlog %d %d"}`, c, i)))
					if err != nil {
						t.Error(err)
						return
					}
					var ans struct{ ID string }
					json.NewDecoder(resp.Body).Decode(&ans)
					resp.Body.Close()
					switch {
					case resp.StatusCode == 200:
						mu.Lock()
						acked[ans.ID] = true
						mu.Unlock()
					case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
						busy.Add(1)
					default:
						t.Errorf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
					}
				}
			})
		}
		wg.Wait()
		client.CloseIdleConnections()
		close(gate)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		onBus := map[string]int{}
		for _, line := range readLines(t, opts.EventsOut) {
			var ev struct {
				Detail struct{ ID string } `json:"detail"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			onBus[ev.Detail.ID]++
		}
		delivered, duplicated, lost := servetest.Tally(acked, onBus)
		t.Logf("round %d: 30 sent, accepted %d, refused 503 %d (bus calls held by the stall %d); delivered %d, dead-lettered %d, duplicated %d, lost %d; on the bus %d",
			round, len(acked), busy.Load(), stalledCalls.Load(), delivered, len(s.pipeline.Queue.DeadLetters()), duplicated, lost, s.pipeline.Bus.Accepted())
		// The fault that must fire is the bound: 10 of the 30 refused (the stall only makes
		// sure nothing leaves the backlog meanwhile; the worker may not have reached the
		// bus before the clients were done).
		if len(acked) != 20 || busy.Load() != 10 || delivered != 20 || duplicated+lost != 0 || s.pipeline.Bus.Accepted() != 20 {
			t.Fatalf("round %d: %d accepted, %d refused with 503, %d delivered, %d duplicated, %d lost, %d on the bus; want 20, 10, 20, 0, 0, 20",
				round, len(acked), busy.Load(), delivered, duplicated, lost, s.pipeline.Bus.Accepted())
		}
	}
}

// TestServeDrainSpillReplay: serve --in-memory, with its actions on against a slow
// Peerdom and a slow bus, is stopped while clients are still sending Role Created
// webhooks, with a drain too short to finish; what is left goes to the spill file, one
// line per delivery with what was still pending for it, and serve --replay restores
// exactly that in a new serve. Counted per delivery id over both runs: every
// acknowledged webhook on the bus once; per role in the sandbox: role-defaults wrote it
// once. Both stages are shown spilled (webhooks not yet on the bus, and events whose
// actions had not all run).
func TestServeDrainSpillReplay(t *testing.T) {
	for round := range 2 {
		dir := t.TempDir()
		spill := filepath.Join(dir, "spill.jsonl")
		eventsOut := filepath.Join(dir, "events.jsonl")
		eventsOut2 := filepath.Join(dir, "events-replay.jsonl")
		const total, signalAt = 3000, 1500
		sandbox := peerdomtest.New(peerdomtest.Config{})
		defer sandbox.Close()
		for i := range total {
			sandbox.AddRole(peerdomapi.Role{ID: servetest.RoleID(i), Name: fmt.Sprintf("Role %d", i)})
		}
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Millisecond) // a slower Peerdom: actions are left pending
			sandbox.ServeHTTP(w, r)
		}))
		defer api.Close()
		withPeerdom := func(o Options) Options {
			o.PeerdomURL, o.APIKey, o.ReconcileEvery = api.URL+peerdomtest.APIPrefix, sandbox.Config().APIKey, 0
			o.Params = map[string]string{"OnboardingRoleIds": servetest.RoleID(0), "RoleDefaults": `{"Purpose":"To be defined"}`}
			return o
		}

		gate := make(chan struct{})
		var busCalls atomic.Int64
		opts := withPeerdom(runOptions(t))
		opts.Token, opts.DrainFor, opts.Spill, opts.EventsOut = "drain-token", 200*time.Millisecond, spill, eventsOut
		{
			o := &opts
			o.HTTPShutdown = 300 * time.Millisecond
			o.BusHook = func(b *membus.Bus) {
				b.FailCall = func([]bus.Entry) error {
					<-gate
					busCalls.Add(1)
					time.Sleep(3 * time.Millisecond) // a slow bus: at most ~3,000 events a second
					return nil
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stdout, stderr, code, endpoint := startRun(t, ctx, opts)

		// The slow client: a request whose body never finishes.
		host := strings.TrimPrefix(strings.SplitN(endpoint, "/webhooks/", 2)[0], "http://")
		slow, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(slow, "POST /webhooks/drain-token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"te", host)

		var mu sync.Mutex
		acked := map[string]int{} // delivery id -> role
		var sent, refused atomic.Int64
		var next atomic.Int64
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 10 * time.Second}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= total {
						return
					}
					body, _ := json.Marshal(map[string]string{"text": servetest.RoleText(servetest.RoleID(i), i)})
					sent.Add(1)
					resp, err := client.Post(endpoint, "application/json", bytes.NewReader(body))
					if err != nil {
						refused.Add(1) // the server is shutting down: not acknowledged
						return
					}
					var ans struct{ ID string }
					json.NewDecoder(resp.Body).Decode(&ans)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						refused.Add(1)
						continue
					}
					mu.Lock()
					acked[ans.ID] = i
					if len(acked) == signalAt {
						cancel() // SIGINT, while the clients are still sending
						close(gate)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var exit int
		select {
		case exit = <-code:
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
		slow.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := slow.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("the slow client's connection was not closed by the shutdown: %v", err)
		}
		slow.Close()

		onBus := servetest.BusEvents(t, eventsOut)
		writtenFirst := servetest.WritesPerRole(sandbox)
		f, err := os.Open(spill)
		if err != nil {
			t.Fatalf("no spill file: %v; stderr: %s", err, stderr.String())
		}
		items, err := readSpill(f, spill)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		inSpill := map[string]int{}
		var spilledQueue, spilledAction, actionsPending int
		for _, it := range items {
			inSpill[it.DeliveryID]++
			if it.Stage == "queue" {
				spilledQueue++
				continue
			}
			spilledAction++
			actionsPending += len(it.Pending)
			if onBus[it.DeliveryID] != 1 {
				t.Errorf("spilled as on the bus, but %s is on the bus %d times", it.DeliveryID, onBus[it.DeliveryID])
			}
			roleDefaultsPending := false
			for _, a := range it.Pending {
				roleDefaultsPending = roleDefaultsPending || a.Function == "RoleDefaultsFunction"
			}
			mu.Lock()
			role, ok := acked[it.DeliveryID]
			mu.Unlock()
			if ok && !roleDefaultsPending && writtenFirst[servetest.RoleID(role)] != 1 {
				t.Errorf("delivery %s: spilled without RoleDefaultsFunction pending, but its role was written %d times", it.DeliveryID, writtenFirst[servetest.RoleID(role)])
			}
		}
		for id, n := range inSpill {
			if n > 1 {
				t.Errorf("delivery %s spilled %d times", id, n)
			}
		}
		mu.Lock()
		var delivered, spilled, duplicated, lost int
		for id := range acked {
			switch b, sp := onBus[id], inSpill[id]; {
			case b > 1:
				duplicated++
			case b == 1 || sp == 1:
				delivered += b
				if sp == 1 {
					spilled++
				}
			default:
				lost++
			}
		}
		nAcked := len(acked)
		mu.Unlock()
		t.Logf("round %d: sent %d, acknowledged %d, refused %d; on the bus %d, spilled %d (%d not on the bus, %d on it with %d actions pending), duplicated %d, lost %d; bus calls %d",
			round, sent.Load(), nAcked, refused.Load(), delivered, spilled, spilledQueue, spilledAction, actionsPending, duplicated, lost, busCalls.Load())
		if duplicated != 0 || lost != 0 || spilledQueue == 0 || spilledAction == 0 || nAcked < signalAt {
			t.Fatalf("round %d: duplicated %d, lost %d of %d acknowledged; spilled %d not on the bus and %d with actions pending (want both above 0)", round, duplicated, lost, nAcked, spilledQueue, spilledAction)
		}
		if exit != 1 || !strings.Contains(stderr.String(), fmt.Sprintf("%d undelivered item(s) written to %s", len(items), spill)) {
			t.Errorf("exit %d, stderr %s", exit, servetest.LastLines(stderr.String(), 5))
		}
		if want := fmt.Sprintf(", %d undelivered kept in %s", len(items), spill); !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, servetest.LastLines(stdout.String(), 5))
		}

		// serve --replay in a new serve: the spilled webhooks reach the bus with their
		// delivery ids, the events already on it get their pending actions only.
		rctx, rcancel := context.WithCancel(context.Background())
		ropts := withPeerdom(runOptions(t))
		ropts.Replay, ropts.EventsOut, ropts.DrainFor = spill, eventsOut2, 60*time.Second
		rout, rerr, rcode, _ := startRun(t, rctx, ropts)
		if want := fmt.Sprintf("replayed          %d queued webhook(s) and %d pending action(s) from %s", spilledQueue, actionsPending, spill); !strings.Contains(rout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, rout.String())
		}
		rcancel()
		select {
		case c := <-rcode:
			if c != 0 {
				t.Fatalf("serve --replay: exit %d: %s", c, servetest.LastLines(rerr.String(), 5))
			}
		case <-time.After(60 * time.Second):
			t.Fatal("serve --replay did not stop")
		}
		replayed := servetest.BusEvents(t, eventsOut2)
		written := servetest.WritesPerRole(sandbox)
		mu.Lock()
		defer mu.Unlock()
		var onceBoth, wroteOnce int
		for id, role := range acked {
			if n := onBus[id] + replayed[id]; n != 1 {
				t.Errorf("delivery %s (role %d): on the bus %d times over both runs (%d, then %d)", id, role, n, onBus[id], replayed[id])
			} else {
				onceBoth++
			}
			if n := written[servetest.RoleID(role)]; n != 1 {
				t.Errorf("role %d (delivery %s): written %d times over both runs", role, id, n)
			} else {
				wroteOnce++
			}
		}
		for id, n := range replayed {
			if _, ok := acked[id]; !ok && inSpill[id] == 0 {
				t.Errorf("replay put %s on the bus (%d times): neither acknowledged nor spilled", id, n)
			}
		}
		t.Logf("round %d: after replay, %d of %d acknowledged on the bus once over both runs, %d roles written once", round, onceBoth, len(acked), wroteOnce)
	}
}

// runOptions are the serve command's defaults (in memory), on free ports, with the
// repository's template, the admin file and the data dir in temporary directories.
func runOptions(t *testing.T) Options {
	t.Setenv(AdminDirEnv, t.TempDir())      // not the user's
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // nor its data dir
	return Options{Addr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "warn", ReconcileEvery: time.Minute,
		DrainFor: 30 * time.Second, Params: map[string]string{}}
}

// startRun runs serve (Run) with opts until ctx ends, and returns its outputs, its exit
// status and its endpoint.
func startRun(t *testing.T, ctx context.Context, opts Options) (stdout, stderr *syncBuffer, code chan int, endpoint string) {
	t.Helper()
	pr, pw := io.Pipe()
	stdout, stderr, code = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	go func() {
		code <- Run(ctx, opts, pw, stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for endpoint == "" && lines.Scan() {
		stdout.Write([]byte(lines.Text() + "\n"))
		if _, url, ok := strings.Cut(lines.Text(), "webhook endpoint  POST "); ok {
			endpoint = url
		}
	}
	go io.Copy(stdout, pr)
	if endpoint == "" {
		t.Fatalf("serve printed no endpoint; stderr: %s", stderr.String())
	}
	return stdout, stderr, code, endpoint
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestServeSlowHeadersCut: a client that never finishes its headers is disconnected after
// the read-header timeout, and its slot under --max-conns is free again.
func TestServeSlowHeadersCut(t *testing.T) {
	opts := testOptions(t)
	opts.NoActions, opts.MaxConns = true, 1
	opts.Timeouts.ReadHeader = 200 * time.Millisecond
	s, err := Start(context.Background(), opts, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	host := strings.TrimPrefix(strings.SplitN(s.webhookURL, "/webhooks/", 2)[0], "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /webhooks/test-token HTTP/1.1\r\nHost: x\r\n") // and nothing more
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c) // until the server closes it (after a 408) or the deadline
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the stalled client was held %s; want it cut after the 200ms read-header timeout", took)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(s.webhookURL, "application/json", strings.NewReader(`{"text":"after"}`))
	if err != nil {
		t.Fatalf("the only slot was not freed: %v", err)
	}
	resp.Body.Close()
}

// TestServeNoActionsShowsRouting: --no-actions still matches the template's rules and
// shows where each event would go, and runs nothing.
func TestServeNoActionsShowsRouting(t *testing.T) {
	opts := testOptions(t)
	opts.NoActions = true
	out := &syncBuffer{}
	s, err := Start(context.Background(), opts, out, out)
	if err != nil {
		t.Fatal(err)
	}
	sendKind(t, s, "peer-created")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	display := out.String()
	if !strings.Contains(display, "→ EnrichFunction, OnboardPeerFunction   (not run: --no-actions)") ||
		!strings.Contains(display, "rule              OnboardPeerFunction.") || strings.Contains(display, "✓") || strings.Contains(display, "no local implementation") {
		t.Errorf("display:\n%s", display)
	}
	if w := s.sandbox.Writes(); len(w) != 0 {
		t.Errorf("sandbox writes under --no-actions: %+v", w)
	}
}
