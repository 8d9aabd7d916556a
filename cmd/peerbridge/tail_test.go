package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
)

// tailResources are the names of tail's rules on the bus and its queues left in moto.
func tailResources(t *testing.T, bus string) []string {
	t.Helper()
	cfg := mototest.Config(t)
	rules, err := eventbridge.NewFromConfig(cfg).ListRules(context.Background(), &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NamePrefix: aws.String(operate.TailRulePrefix)})
	if err != nil {
		t.Fatal(err)
	}
	queues, err := sqs.NewFromConfig(cfg).ListQueues(context.Background(), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(operate.TailRulePrefix)})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range rules.Rules {
		left = append(left, "rule "+aws.ToString(r.Name))
	}
	for _, q := range queues.QueueUrls {
		left = append(left, "queue "+q)
	}
	return left
}

func putEvent(t *testing.T, bus, detailType, name string) {
	t.Helper()
	detail, _ := json.Marshal(map[string]any{"id": "0123456789abcdef", "name": name, "author": map[string]string{"name": "Jane Doe"}})
	out, err := eventbridge.NewFromConfig(mototest.Config(t)).PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(bus), Source: aws.String("peerdom"), DetailType: aws.String(detailType), Detail: aws.String(string(detail))}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put events: %v %+v", err, out)
	}
}

func TestTailShowsAndForwardsThenCleansUp(t *testing.T) {
	name, outputs, _ := operateStack(t, 0)
	bus := outputs[operate.OutputEventBusName]
	var mu sync.Mutex
	var forwarded []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		forwarded = append(forwarded, string(b))
		mu.Unlock()
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr servetest.SyncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"tail", "--stack", name, "--pattern", `{"detail-type": ["Role Created"]}`, "--forward-to", srv.URL}, nil, &stdout, &stderr)
	}()
	servetest.WaitFor(t, "tail to start", func() bool { return strings.Contains(stderr.String(), "Tailing bus") })
	if left := tailResources(t, bus); len(left) != 2 {
		t.Fatalf("tail's resources while running: %v", left)
	}
	putEvent(t, bus, "Peer Deleted", "Bob") // not matched by the pattern
	putEvent(t, bus, "Role Created", "Scribe")
	servetest.WaitFor(t, "the forwarded event", func() bool { mu.Lock(); defer mu.Unlock(); return len(forwarded) > 0 })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	t.Logf("tail:\n%s%s", stdout.String(), stderr.String())
	if !strings.Contains(stdout.String(), `● Role Created         "Scribe" by Jane Doe  [delivery 01234567]`) || strings.Contains(stdout.String(), "Bob") {
		t.Errorf("shown:\n%s", stdout.String())
	}
	mu.Lock()
	if len(forwarded) != 1 || !strings.Contains(forwarded[0], `"detail-type":"Role Created"`) && !strings.Contains(forwarded[0], `"detail-type": "Role Created"`) {
		t.Errorf("forwarded %q", forwarded)
	}
	mu.Unlock()
	if left := tailResources(t, bus); len(left) != 0 {
		t.Errorf("left after exit: %v", left)
	}
}

// TestTailCleansUpOnInterrupt runs tail as its own process, sends it SIGINT (Ctrl-C),
// SIGTERM or SIGHUP (a closed terminal), and checks that it exits and its rule and queue
// are gone.
func TestTailCleansUpOnInterrupt(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) { tailCleansUpOn(t, sig) })
	}
}

func tailCleansUpOn(t *testing.T, sig syscall.Signal) {
	name, outputs, _ := operateStack(t, 0) // sets the AWS environment the child inherits
	cmd := exec.Command(os.Args[0], "-test.run=^TestTailHelperProcess$")
	cmd.Env = append(os.Environ(), "TAIL_HELPER_STACK="+name)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(errPipe)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.Contains(lines.Text(), "Tailing bus") {
			break
		}
	}
	if left := tailResources(t, outputs[operate.OutputEventBusName]); len(left) != 2 {
		t.Fatalf("tail's resources while running: %v (stderr %q)", left, seen)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(errPipe)
	if err := cmd.Wait(); err != nil {
		t.Errorf("tail after %v: %v\n%s", sig, err, rest)
	}
	if !strings.Contains(string(rest), "Removed the rule and queue") {
		t.Errorf("stderr after %v: %s", sig, rest)
	}
	if left := tailResources(t, outputs[operate.OutputEventBusName]); len(left) != 0 {
		t.Errorf("left after %v: %v", sig, left)
	}
}

// TestTailHelperProcess is the child of TestTailCleansUpOnInterrupt: tail as main runs it.
func TestTailHelperProcess(t *testing.T) {
	stack := os.Getenv("TAIL_HELPER_STACK")
	if stack == "" {
		t.Skip("the child process of TestTailCleansUpOnInterrupt")
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	if code := run(ctx, []string{"tail", "--stack", stack}, nil, os.Stdout, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// A tail killed with -9 leaves its rule and queue, tagged with their expiry. Once that
// has passed, `tail --cleanup` removes them, and leaves a tail's that has not expired
// (another tail may be running); the next tail removes expired ones before it starts.
func TestTailRemovesExpiredTaps(t *testing.T) {
	name, outputs, _ := operateStack(t, 0)
	bus := outputs[operate.OutputEventBusName]
	cfg := mototest.Config(t)
	sq, eb := sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	ctx := context.Background()
	open := func(at time.Time) *operate.Tap {
		tap, err := operate.OpenTap(ctx, sq, eb, bus, name, `{"source":["peerdom"]}`, at)
		if err != nil {
			t.Fatal(err)
		}
		return tap
	}
	old := open(time.Now().Add(-operate.TailExpiry - time.Minute)) // expired a minute ago
	fresh := open(time.Now())                                      // another tail, running
	if left := tailResources(t, bus); len(left) != 4 {
		t.Fatalf("before cleanup: %v", left)
	}
	code, _, stderr := runCLI(t, "", "tail", "--stack", name, "--cleanup")
	if code != 0 || !strings.Contains(stderr, "Removed the expired rule and queue "+old.Rule) || !strings.Contains(stderr, "1 expired") {
		t.Errorf("tail --cleanup: %d %s", code, stderr)
	}
	left := tailResources(t, bus)
	if len(left) != 2 || !strings.Contains(strings.Join(left, " "), fresh.Rule) {
		t.Errorf("after cleanup: %v, want only %s's rule and queue", left, fresh.Rule)
	}
	if code, _, stderr := runCLI(t, "", "tail", "--stack", name, "--cleanup"); code != 0 || !strings.Contains(stderr, "0 expired") {
		t.Errorf("tail --cleanup again: %d %s", code, stderr)
	}

	// The next tail removes an expired one before it starts.
	old2 := open(time.Now().Add(-operate.TailExpiry - time.Minute))
	runCtx, cancel := context.WithCancel(ctx)
	var stdout, errOut servetest.SyncBuffer
	done := make(chan int)
	go func() { done <- run(runCtx, []string{"tail", "--stack", name}, nil, &stdout, &errOut) }()
	servetest.WaitFor(t, "tail to start", func() bool { return strings.Contains(errOut.String(), "Tailing bus") })
	if !strings.Contains(errOut.String(), "Removed the expired rule and queue "+old2.Rule) {
		t.Errorf("tail did not remove the expired tap: %s", errOut.String())
	}
	if left := strings.Join(tailResources(t, bus), " "); strings.Contains(left, old2.Rule) || !strings.Contains(left, fresh.Rule) {
		t.Errorf("while the next tail runs: %s", left)
	}
	cancel()
	<-done
	fresh.Close(ctx)
}
