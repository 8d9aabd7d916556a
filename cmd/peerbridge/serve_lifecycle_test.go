package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func testOptions(t *testing.T) serveOptions {
	return serveOptions{
		addr: "127.0.0.1:0", sandboxAddr: "127.0.0.1:0", token: "test-token",
		template: filepath.Join("..", "..", "template.yaml"), logLevel: "error",
		eventsOut: filepath.Join(t.TempDir(), "events.jsonl"), drainFor: 20 * time.Second,
		maxBacklog: defaultMaxBacklog, maxConns: defaultMaxConns,
	}
}

// TestServeSandboxWriteAtStart: a client writes to the sandbox API the instant its port
// exists, 200 times. The sandbox's webhook for that write must reach a built pipeline
// (before, the sandbox answered before the pipeline existed and the webhook went into a
// nil handler: serve died).
func TestServeSandboxWriteAtStart(t *testing.T) {
	for round := range 200 {
		opts := testOptions(t)
		opts.noActions = true
		opts.eventsOut = ""
		wrote := make(chan error, 1)
		calls := 0
		opts.listen = func(network, addr string) (net.Listener, error) {
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
		s, err := startStack(context.Background(), opts, out, out)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-wrote; err != nil {
			t.Fatalf("round %d: the write at start failed: %v", round, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s.shutdown(ctx)
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
	opts.noActions, opts.maxConns = true, 2
	s, err := startStack(context.Background(), opts, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.shutdown(context.Background())
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
		opts.noActions, opts.maxBacklog = true, 20
		gate := make(chan struct{})
		var stalledCalls atomic.Int64
		opts.busHook = func(b *membus.Bus) {
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
		s, err := startStack(context.Background(), opts, io.Discard, io.Discard)
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
		err = s.shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		onBus := map[string]int{}
		for _, line := range readLines(t, opts.eventsOut) {
			var ev struct {
				Detail struct{ ID string } `json:"detail"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			onBus[ev.Detail.ID]++
		}
		var delivered, duplicated, lost int
		for id := range acked {
			switch onBus[id] {
			case 0:
				lost++
			case 1:
				delivered++
			default:
				duplicated++
			}
		}
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

// TestServeDrainSpillReplay: serve is signalled while clients are busy sending thousands
// of webhooks into a backlog (the bus held back, then slow), with a slow client holding a
// connection mid-request. The HTTP shutdown cuts the slow client off on its own bound,
// the drain runs out of time, and the rest is spilled: every acknowledged webhook is on
// the bus or in the spill file, none twice; the exit status is 1; and send --replay
// posts exactly the spilled ones to a fresh serve.
func TestServeDrainSpillReplay(t *testing.T) {
	for round := range 2 {
		dir := t.TempDir()
		spill := filepath.Join(dir, "spill.jsonl")
		eventsOut := filepath.Join(dir, "events.jsonl")
		gate := make(chan struct{})
		var busCalls atomic.Int64
		testServeOptions = func(o *serveOptions) {
			o.httpShutdown = 300 * time.Millisecond
			o.busHook = func(b *membus.Bus) {
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
		stdout, stderr, code, endpoint := startServeCommand(t, ctx, "--no-actions", "--token", "drain-token",
			"--drain-timeout", "200ms", "--spill", spill, "--events-out", eventsOut)

		// The slow client: a request whose body never finishes.
		host := strings.TrimPrefix(strings.SplitN(endpoint, "/webhooks/", 2)[0], "http://")
		slow, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(slow, "POST /webhooks/drain-token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"te", host)

		const total, signalAt = 4000, 2500
		var mu sync.Mutex
		acked := map[string]string{} // delivery id → text
		var sent, refused atomic.Int64
		var next atomic.Int64
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 10 * time.Second}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= total {
						return
					}
					text := fmt.Sprintf("drain test webhook %d-%d", round, i)
					body, _ := json.Marshal(map[string]string{"text": text})
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
					acked[ans.ID] = text
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

		onBus := map[string]int{}
		for _, line := range readLines(t, eventsOut) {
			var ev struct {
				Detail struct{ ID, Text string } `json:"detail"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			onBus[ev.Detail.ID]++
		}
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
		for _, it := range items {
			inSpill[it.DeliveryID]++
		}
		var delivered, spilled, duplicated, lost int
		mu.Lock()
		for id := range acked {
			switch b, sp := onBus[id], inSpill[id]; {
			case b+sp > 1:
				duplicated++
			case b == 1:
				delivered++
			case sp == 1:
				spilled++
			default:
				lost++
			}
		}
		unacked := 0
		for id := range onBus {
			if _, ok := acked[id]; !ok {
				unacked++ // cut off after queueing: on the bus, never acknowledged
			}
		}
		nAcked := len(acked)
		mu.Unlock()
		t.Logf("round %d: sent %d, acknowledged %d, refused %d; delivered %d, spilled %d, duplicated %d, lost %d; on the bus unacknowledged %d; bus calls %d",
			round, sent.Load(), nAcked, refused.Load(), delivered, spilled, duplicated, lost, unacked, busCalls.Load())
		if duplicated != 0 || lost != 0 || spilled == 0 || delivered == 0 || nAcked < signalAt {
			t.Fatalf("round %d: delivered %d, spilled %d, duplicated %d, lost %d of %d acknowledged", round, delivered, spilled, duplicated, lost, nAcked)
		}
		if len(items) != spilled || len(onBus) != delivered+unacked {
			t.Errorf("spill has %d lines for %d spilled; bus %d", len(items), spilled, len(onBus))
		}
		if exit != 1 || !strings.Contains(stderr.String(), fmt.Sprintf("%d undelivered item(s) written to %s", spilled, spill)) {
			t.Errorf("exit %d, stderr %s", exit, stderr.String())
		}
		if want := fmt.Sprintf("stopped: %d events on the bus, 0 queue messages and 0 action events dead-lettered, %d undelivered kept in %s", len(onBus), spilled, spill); !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, lastLines(stdout.String(), 5))
		}

		// Replay into a fresh serve: exactly the spilled texts arrive, once each.
		testServeOptions = nil
		opts := testOptions(t)
		opts.noActions = true
		s2, err := startStack(context.Background(), opts, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var rout, rerr bytes.Buffer
		if c := run(context.Background(), []string{"send", "--replay", spill, "--url", s2.webhookURL}, nil, &rout, &rerr); c != 0 {
			t.Fatalf("send --replay: exit %d: %s", c, rerr.String())
		}
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s2.shutdown(sctx)
		scancel()
		if err != nil {
			t.Fatal(err)
		}
		replayed := map[string]int{}
		for _, line := range readLines(t, opts.eventsOut) {
			var ev struct {
				Detail struct{ Text string } `json:"detail"`
			}
			json.Unmarshal([]byte(line), &ev)
			replayed[ev.Detail.Text]++
		}
		if len(replayed) != spilled {
			t.Errorf("replay put %d distinct texts on the bus, want the %d spilled", len(replayed), spilled)
		}
		for _, it := range items {
			if replayed[it.Text] != 1 {
				t.Errorf("spilled %q arrived %d times on replay", it.Text, replayed[it.Text])
			}
		}
		if !strings.Contains(rout.String(), fmt.Sprintf("replayed %d of %d items", spilled, spilled)) {
			t.Errorf("send --replay output: %s", lastLines(rout.String(), 2))
		}
	}
}

// startServeCommand runs `peerbridge serve` with args (plus test addresses and the
// template) until ctx ends, and returns its outputs, its exit status and its endpoint.
func startServeCommand(t *testing.T, ctx context.Context, args ...string) (stdout, stderr *syncBuffer, code chan int, endpoint string) {
	t.Helper()
	pr, pw := io.Pipe()
	stdout, stderr, code = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	t.Setenv(adminFileEnv, filepath.Join(t.TempDir(), "admin.json")) // not the user's
	t.Setenv("XDG_STATE_HOME", t.TempDir())                           // nor its data dir
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--template", filepath.Join("..", "..", "template.yaml")}, args...)
	go func() {
		code <- run(ctx, args, strings.NewReader(""), pw, stderr)
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

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestServeSlowHeadersCut: a client that never finishes its headers is disconnected after
// the read-header timeout, and its slot under --max-conns is free again.
func TestServeSlowHeadersCut(t *testing.T) {
	opts := testOptions(t)
	opts.noActions, opts.maxConns = true, 1
	opts.timeouts.readHeader = 200 * time.Millisecond
	s, err := startStack(context.Background(), opts, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.shutdown(context.Background())
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

// TestServePeerdomURLNamesMissingParams: with a real Peerdom, serve says which action
// will not run for want of which parameter, and runs those that have theirs (before,
// every action was off, silently, since the template's API-key condition was false).
func TestServePeerdomURLNamesMissingParams(t *testing.T) {
	t.Setenv("PEERDOM_API_KEY", "k")
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // serve's default data dir: not the user's
	serve := func(extra ...string) (int, string) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // start, then stop at once
		var out, errOut bytes.Buffer
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0", "--template", filepath.Join("..", "..", "template.yaml"),
			"--peerdom-url", "http://127.0.0.1:1/v1", "--admin-addr", ""}, extra...)
		code := run(ctx, args, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := serve()
	if code != 0 || !strings.Contains(out, "! OnboardPeerFunction does not run: give --param OnboardingRoleIds=") ||
		!strings.Contains(out, "! RoleDefaultsFunction does not run: give --param RoleDefaults=") || !strings.Contains(out, "rule              EnrichFunction.") {
		t.Errorf("without the parameters: exit %d:\n%s", code, out)
	}
	code, out = serve("--param", "OnboardingRoleIds=r1")
	if code != 0 || strings.Contains(out, "OnboardPeerFunction does not run") || !strings.Contains(out, "rule              OnboardPeerFunction.") ||
		!strings.Contains(out, "RoleDefaultsFunction does not run") {
		t.Errorf("with OnboardingRoleIds: exit %d:\n%s", code, out)
	}
	if _, out = serve("--no-actions"); strings.Contains(out, "does not run") {
		t.Errorf("--no-actions warns of actions:\n%s", out)
	}
}

// TestServeNoActionsShowsRouting: --no-actions still matches the template's rules and
// shows where each event would go, and runs nothing.
func TestServeNoActionsShowsRouting(t *testing.T) {
	opts := testOptions(t)
	opts.noActions = true
	out := &syncBuffer{}
	s, err := startStack(context.Background(), opts, out, out)
	if err != nil {
		t.Fatal(err)
	}
	sendKind(t, s, "peer-created")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.shutdown(ctx); err != nil {
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
