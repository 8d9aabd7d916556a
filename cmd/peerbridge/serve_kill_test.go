package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// childEnv, set in a child's environment, makes the test binary run `peerbridge` with its
// arguments instead of the tests: serve as a process of its own, that a test can kill.
const childEnv = "PEERBRIDGE_TEST_CHILD"

func init() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// serveChild is `peerbridge serve` running as a child process.
type serveChild struct {
	cmd      *exec.Cmd
	endpoint string
	stdout   *servetest.SyncBuffer
	stderr   *servetest.SyncBuffer
	exited   chan struct{}
	exitErr  error
}

func startServeChild(t *testing.T, args ...string) *serveChild {
	t.Helper()
	c := &serveChild{stdout: &servetest.SyncBuffer{}, stderr: &servetest.SyncBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--aws-addr", "", "--admin-addr", "",
		"--reconcile-every", "0", "--log-level", "error", "--template", filepath.Join("..", "..", "template.yaml")}, args...)...)
	c.cmd.Env = append(os.Environ(), childEnv+"=1")
	c.cmd.Stderr = c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for c.endpoint == "" && lines.Scan() {
		c.stdout.Write([]byte(lines.Text() + "\n"))
		if _, url, ok := strings.Cut(lines.Text(), "webhook endpoint  POST "); ok {
			c.endpoint = url
		}
	}
	go func() {
		io.Copy(c.stdout, out)
		c.exitErr = c.cmd.Wait()
		close(c.exited)
	}()
	if c.endpoint == "" {
		c.cmd.Process.Kill()
		<-c.exited
		t.Fatalf("serve printed no endpoint; stderr: %s", c.stderr.String())
	}
	return c
}

func (c *serveChild) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(d):
		c.cmd.Process.Kill()
		<-c.exited
		t.Fatalf("serve did not exit within %s; stdout: %s", d, servetest.LastLines(c.stdout.String(), 10))
	}
}

// TestServeKill9Durable: serve, as a child process, is loaded with Role Created webhooks
// and killed with SIGKILL at random points (seeded), then started again on the same data
// dir; a last run drains. Counted per delivery id: every acknowledged webhook is on the
// bus exactly once; counted per role in the sandbox: role-defaults wrote each role
// exactly once. The kills are shown to have happened mid-flight: at some kill, webhooks
// were acknowledged but not yet on the bus, and events were on the bus whose action had
// not written yet.
func TestServeKill9Durable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	const total, kills = 2400, 4
	sandbox := peerdomtest.New(peerdomtest.Config{})
	defer sandbox.Close()
	for i := range total {
		sandbox.AddRole(peerdomapi.Role{ID: servetest.RoleID(i), Name: fmt.Sprintf("Role %d", i)})
	}
	// A slower Peerdom, so that actions fall behind and are pending when a kill comes.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		sandbox.ServeHTTP(w, r)
	}))
	defer api.Close()
	t.Setenv("PEERDOM_API_KEY", sandbox.Config().APIKey)

	dir := t.TempDir()
	eventsOut := filepath.Join(dir, "events.jsonl")
	args := []string{"--data-dir", filepath.Join(dir, "data"), "--events-out", eventsOut, "--token", "kill-token",
		"--peerdom-url", api.URL + peerdomtest.APIPrefix,
		"--param", "OnboardingRoleIds=" + servetest.RoleID(0), "--param", `RoleDefaults={"Purpose":"To be defined"}`,
		"--max-pending-actions", "100", "--max-backlog", "400", "--drain-timeout", "60s"}

	var (
		mu       sync.Mutex
		accepted = map[string]int{} // delivery id -> role index
		roleAcks = map[int]int{}    // role index -> acknowledgements
		next     atomic.Int64       // the next role to send
		refused  atomic.Int64       // 503s (full), sent again
		cut      atomic.Int64       // requests cut off by a kill: not acknowledged
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}
	// load sends roles until stop says so or all are sent; a 503 is sent again.
	load := func(endpoint string, stop func(acks int) bool) {
		var roundAcks atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= total {
						return
					}
					for {
						body, _ := json.Marshal(map[string]string{"text": servetest.RoleText(servetest.RoleID(i), i)})
						resp, err := client.Post(endpoint, "application/json", bytes.NewReader(body))
						if err != nil {
							cut.Add(1) // the process is gone: maybe stored, never acknowledged
							return
						}
						var ans struct{ ID string }
						json.NewDecoder(resp.Body).Decode(&ans)
						resp.Body.Close()
						if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
							refused.Add(1)
							time.Sleep(5 * time.Millisecond) // not synchronisation: a client backing off
							continue
						}
						if resp.StatusCode != http.StatusOK || ans.ID == "" {
							t.Errorf("role %d: %d", i, resp.StatusCode)
							return
						}
						mu.Lock()
						accepted[ans.ID] = i
						roleAcks[i]++
						mu.Unlock()
						if stop(int(roundAcks.Add(1))) {
							return
						}
						break
					}
				}
			})
		}
		wg.Wait()
	}

	var notOnBusAtKill, actionPendingAtKill, restoredRuns int
	for round := range kills + 1 {
		c := startServeChild(t, args...)
		if strings.Contains(c.stdout.String(), "  restored ") {
			restoredRuns++
		}
		if round == kills { // the last run: send the rest, then stop it normally
			load(c.endpoint, func(int) bool { return false })
			c.cmd.Process.Signal(os.Interrupt)
			c.wait(t, 90*time.Second)
			if c.exitErr != nil {
				t.Fatalf("last run: %v; stderr: %s", c.exitErr, c.stderr.String())
			}
			break
		}
		killAt := 100 + rng.IntN(300)
		var once sync.Once
		load(c.endpoint, func(acks int) bool {
			if acks >= killAt {
				once.Do(func() { c.cmd.Process.Kill() }) // SIGKILL
				return true
			}
			return false
		})
		c.wait(t, 10*time.Second)
		if ws, ok := c.exitErr.(*exec.ExitError); !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: serve ended with %v, not by SIGKILL", round, c.exitErr)
		}
		// What was in flight at the kill.
		onBus := servetest.BusEvents(t, eventsOut)
		written := servetest.WritesPerRole(sandbox)
		mu.Lock()
		qStage, aStage := 0, 0
		for id, i := range accepted {
			switch {
			case onBus[id] == 0:
				qStage++
			case written[servetest.RoleID(i)] == 0:
				aStage++
			}
		}
		mu.Unlock()
		notOnBusAtKill += qStage
		actionPendingAtKill += aStage
		t.Logf("round %d: killed after %d acknowledged this round; at the kill %d acknowledged not on the bus, %d on the bus with the action not written", round, killAt, qStage, aStage)
	}

	onBus := servetest.BusEvents(t, eventsOut)
	written := servetest.WritesPerRole(sandbox)
	mu.Lock()
	defer mu.Unlock()
	delivered, duplicated, lost := servetest.Tally(accepted, onBus)
	unackedOnBus := 0
	for id, n := range onBus {
		if _, ok := accepted[id]; !ok {
			unackedOnBus++ // cut off by a kill after it was stored
		}
		if n > 1 {
			t.Errorf("delivery %s on the bus %d times", id, n)
		}
	}
	var wroteOnce, wroteTwice, notWritten int
	for i := range total {
		switch n := written[servetest.RoleID(i)]; {
		case n > 1:
			wroteTwice++
		case n == 1:
			wroteOnce++
		case roleAcks[i] > 0:
			notWritten++ // acknowledged, but its action never wrote
		}
	}
	t.Logf("acknowledged %d (503 sent again: %d, cut off by kills: %d); on the bus: delivered %d, duplicated %d, lost %d, unacknowledged on the bus %d; sandbox: roles written once %d, twice or more %d, acknowledged not written %d; at the kills: %d acknowledged not on the bus, %d actions pending; restored runs %d",
		len(accepted), refused.Load(), cut.Load(), delivered, duplicated, lost, unackedOnBus, wroteOnce, wroteTwice, notWritten, notOnBusAtKill, actionPendingAtKill, restoredRuns)
	if lost != 0 || duplicated != 0 || wroteTwice != 0 || notWritten != 0 {
		t.Errorf("lost %d, duplicated %d on the bus; roles written twice %d, acknowledged but not written %d", lost, duplicated, wroteTwice, notWritten)
	}
	if len(accepted) < total-int(cut.Load()) {
		t.Errorf("acknowledged %d of %d roles, %d cut off", len(accepted), total, cut.Load())
	}
	if notOnBusAtKill == 0 || actionPendingAtKill == 0 || restoredRuns == 0 {
		t.Errorf("the kills did not land mid-flight: %d acknowledged not on the bus, %d actions pending, %d runs restored work", notOnBusAtKill, actionPendingAtKill, restoredRuns)
	}
}
