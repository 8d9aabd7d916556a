// Package queuetest is the conformance suite of the port queue.Queue: one set of tests
// that every implementation runs (internal/queue/memqueue in memory, internal/queue/sqsqueue
// over moto), so the twin behaves as SQS does where peerbridge relies on it. The
// differences the twin has on purpose are declared as Features, not left to prose.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/queue"
)

// Features are what an implementation does where the suite allows a choice.
type Features struct {
	// FIFO: messages are received in the order they were sent (memqueue). A standard SQS
	// queue makes no promise of order.
	FIFO bool
	// DeadLetterOnRelease: a message released after its last allowed receive is in the
	// dead-letter queue at once (memqueue). SQS moves it there at the next receive.
	DeadLetterOnRelease bool
	// Visibility is the shortest visibility timeout the queue honours, which the suite
	// uses to see a message come back: SQS counts whole seconds.
	Visibility time.Duration
	// MaxMessageBytes is the largest body Send accepts.
	MaxMessageBytes int
	// SendRacesDelete: a Send concurrent with a Delete may lose the sent message. moto
	// 5.2.1 does (its DeleteMessage rebuilds the queue's message list without the lock
	// SendMessage takes); SQS does not. The concurrency test then keeps Sends and
	// Deletes apart with a lock, and still receives concurrently with both.
	SendRacesDelete bool
}

// Instance is one fresh queue for one test.
type Instance struct {
	Queue queue.Queue
	// DeadLetters takes the messages now in the queue's dead-letter queue (each once).
	DeadLetters func(t testing.TB) []queue.Message
}

// NewQueue makes an empty queue whose redrive policy dead-letters a message after
// maxReceives receives.
type NewQueue func(t *testing.T, maxReceives int) Instance

// settle bounds how long the suite waits for what should happen promptly.
const settle = 10 * time.Second

// long is a visibility timeout no test outlasts.
const long = 60 * time.Second

// Run runs the whole suite.
func Run(t *testing.T, newQueue NewQueue, f Features) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewQueue, Features)
	}{
		{"SendReceiveDelete", testSendReceiveDelete},
		{"Visibility", testVisibility},
		{"Redrive", testRedrive},
		{"PartialBatchFailures", testPartialBatchFailures},
		{"HandlerErrorFailsTheBatch", testHandlerErrorFailsTheBatch},
		{"MessageSizeLimit", testMessageSizeLimit},
		{"ConcurrentSendersAndReceivers", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each test has a queue of its own
			tc.fn(t, newQueue, f)
		})
	}
}

// receive collects messages until want have arrived or settle passed.
func receive(t testing.TB, q queue.Consumer, want int, visibility time.Duration) []queue.Message {
	t.Helper()
	var got []queue.Message
	deadline := time.Now().Add(settle)
	for len(got) < want && time.Now().Before(deadline) {
		ms, err := q.Receive(context.Background(), want-len(got), visibility)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		got = append(got, ms...)
		if len(ms) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return got
}

// receiveNone asserts that a receive finds nothing visible.
func receiveNone(t testing.TB, q queue.Consumer, why string) {
	t.Helper()
	ms, err := q.Receive(context.Background(), queue.MaxBatch, long)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(ms) != 0 {
		t.Fatalf("%s: received %d messages (%+v), want none", why, len(ms), ms)
	}
}

func send(t testing.TB, q queue.Sender, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := q.Send(context.Background(), b); err != nil {
			t.Fatalf("Send(%.40q): %v", b, err)
		}
	}
}

func bodies(ms []queue.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Body
	}
	return out
}

func testSendReceiveDelete(t *testing.T, newQueue NewQueue, f Features) {
	ctx := context.Background()
	q := newQueue(t, 5).Queue
	sent := []string{"first", `{"text":"é → ü <b>&</b>"}`, "third"}
	before := time.Now()
	send(t, q, sent...)
	after := time.Now()

	got := receive(t, q, len(sent), long)
	if len(got) != len(sent) {
		t.Fatalf("received %d of %d messages", len(got), len(sent))
	}
	gotBodies := bodies(got)
	if f.FIFO && !slices.Equal(gotBodies, sent) {
		t.Errorf("FIFO: received %q, want %q", gotBodies, sent)
	}
	slices.Sort(gotBodies)
	want := slices.Sorted(slices.Values(sent))
	if !slices.Equal(gotBodies, want) {
		t.Errorf("received %q, want %q", gotBodies, want)
	}
	ids := map[string]bool{}
	for _, m := range got {
		if m.ID == "" || m.Receipt == "" || ids[m.ID] {
			t.Errorf("message without a distinct id or a receipt: %+v", m)
		}
		ids[m.ID] = true
		if m.ReceiveCount != 1 {
			t.Errorf("first receive of %q counts %d", m.Body, m.ReceiveCount)
		}
		// SentAt has millisecond precision in SQS; allow for that and clock skew.
		if m.SentAt.Before(before.Add(-time.Second)) || m.SentAt.After(after.Add(time.Second)) {
			t.Errorf("SentAt %v is not between %v and %v", m.SentAt, before, after)
		}
	}
	receiveNone(t, q, "all in flight")
	for _, m := range got {
		if err := q.Delete(ctx, m.Receipt); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	receiveNone(t, q, "all deleted")
}

func testVisibility(t *testing.T, newQueue NewQueue, f Features) {
	ctx := context.Background()
	q := newQueue(t, 10).Queue
	send(t, q, "hidden")

	first := receive(t, q, 1, f.Visibility)
	if len(first) != 1 {
		t.Fatal("the sent message was not received")
	}
	receiveNone(t, q, "within its visibility timeout")

	// The timeout ends: it comes back, counted, with a new receipt.
	time.Sleep(f.Visibility + f.Visibility/2)
	second := receive(t, q, 1, long)
	if len(second) != 1 || second[0].ID != first[0].ID || second[0].ReceiveCount != 2 || second[0].Receipt == first[0].Receipt {
		t.Fatalf("after the visibility timeout: %+v, want %s received a 2nd time with a new receipt", second, first[0].ID)
	}

	// A release makes it visible at once.
	if err := q.ChangeVisibility(ctx, second[0].Receipt, 0); err != nil {
		t.Fatalf("release: %v", err)
	}
	third := receive(t, q, 1, f.Visibility)
	if len(third) != 1 || third[0].ID != first[0].ID || third[0].ReceiveCount != 3 {
		t.Fatalf("after a release: %+v, want it received a 3rd time", third)
	}

	// Extending the timeout keeps it hidden past the timeout it was received with.
	if err := q.ChangeVisibility(ctx, third[0].Receipt, long); err != nil {
		t.Fatalf("extend: %v", err)
	}
	time.Sleep(f.Visibility + f.Visibility/2)
	receiveNone(t, q, "after its visibility was extended")
	if err := q.Delete(ctx, third[0].Receipt); err != nil {
		t.Fatalf("Delete with the current receipt: %v", err)
	}
}

func testRedrive(t *testing.T, newQueue NewQueue, f Features) {
	ctx := context.Background()
	const maxReceives = 3
	inst := newQueue(t, maxReceives)
	q := inst.Queue
	send(t, q, "poison", "fine")

	var poisonID string
	for i := 1; i <= maxReceives; i++ {
		want := 1
		if i == 1 {
			want = 2
		}
		got := receive(t, q, want, long)
		if len(got) != want {
			t.Fatalf("receive %d: got %d messages, want %d", i, len(got), want)
		}
		for _, m := range got {
			if m.Body == "fine" {
				if err := q.Delete(ctx, m.Receipt); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if m.ReceiveCount != i {
				t.Errorf("receive %d of the poison message counts %d", i, m.ReceiveCount)
			}
			poisonID = m.ID
			if err := q.ChangeVisibility(ctx, m.Receipt, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	var dead []queue.Message
	if f.DeadLetterOnRelease {
		dead = inst.DeadLetters(t)
		if len(dead) != 1 {
			t.Fatalf("DeadLetterOnRelease: %d dead letters right after the last release, want 1", len(dead))
		}
	}
	receiveNone(t, q, "after its last allowed receive")
	dead = append(dead, inst.DeadLetters(t)...)
	if len(dead) != 1 || dead[0].Body != "poison" || dead[0].ID != poisonID || dead[0].ReceiveCount < maxReceives {
		t.Fatalf("dead letters: %+v, want the poison message (id %s) received at least %d times", dead, poisonID, maxReceives)
	}
	if again := inst.DeadLetters(t); len(again) != 0 {
		t.Errorf("DeadLetters gave %d messages a second time", len(again))
	}
}

// failBodies is a handler that fails the messages whose body is in fail, and records
// the bodies it saw.
func failBodies(saw *[]queue.Message, fail ...string) queue.BatchHandler {
	return func(_ context.Context, batch []queue.Message) ([]string, error) {
		*saw = append(*saw, batch...)
		var failed []string
		for _, m := range batch {
			if slices.Contains(fail, m.Body) {
				failed = append(failed, m.ID)
			}
		}
		return failed, nil
	}
}

func testPartialBatchFailures(t *testing.T, newQueue NewQueue, f Features) {
	q := newQueue(t, 5).Queue
	send(t, q, "a", "b", "c", "d", "e")
	visibleToOneReceive(t, q, 5)
	var saw []queue.Message
	n, err := queue.Poll(context.Background(), q, queue.MaxBatch, long, failBodies(&saw, "b", "d"))
	if err != nil || n != 5 || len(saw) != 5 {
		t.Fatalf("Poll = %d, %v; handler saw %d messages, want 5", n, err, len(saw))
	}
	back := receive(t, q, 2, long)
	got := slices.Sorted(slices.Values(bodies(back)))
	if !slices.Equal(got, []string{"b", "d"}) {
		t.Fatalf("came back: %q, want only the failed b and d", got)
	}
	for _, m := range back {
		if m.ReceiveCount != 3 { // the receive above, Poll's, and this one
			t.Errorf("%s counts %d receives, want 3", m.Body, m.ReceiveCount)
		}
	}
	receiveNone(t, q, "the succeeded ones were deleted")
}

// visibleToOneReceive waits until n messages have arrived, and releases them, so one
// receive gets them all; each then counts one receive more.
func visibleToOneReceive(t testing.TB, q queue.Consumer, n int) {
	t.Helper()
	all := receive(t, q, n, long)
	if len(all) != n {
		t.Fatalf("%d messages arrived, want %d", len(all), n)
	}
	for _, m := range all {
		if err := q.ChangeVisibility(context.Background(), m.Receipt, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func testHandlerErrorFailsTheBatch(t *testing.T, newQueue NewQueue, f Features) {
	q := newQueue(t, 5).Queue
	boom := errors.New("handler failed")
	for _, tc := range []struct {
		name    string
		handler queue.BatchHandler
		want    error
	}{
		{"error", func(context.Context, []queue.Message) ([]string, error) { return nil, boom }, boom},
		{"empty id", func(context.Context, []queue.Message) ([]string, error) { return []string{""}, nil }, nil},
		{"unknown id", func(context.Context, []queue.Message) ([]string, error) { return []string{"not-in-batch"}, nil }, nil},
	} {
		send(t, q, "x-"+tc.name, "y-"+tc.name)
		visibleToOneReceive(t, q, 2)
		n, err := queue.Poll(context.Background(), q, queue.MaxBatch, long, tc.handler)
		if n != 2 || err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Poll = %d, %v; want 2 and the batch failed", tc.name, n, err)
		}
		back := receive(t, q, 2, long)
		if len(back) != 2 {
			t.Fatalf("%s: %d messages came back, want the whole batch", tc.name, len(back))
		}
		for _, m := range back {
			if err := q.Delete(context.Background(), m.Receipt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func testMessageSizeLimit(t *testing.T, newQueue NewQueue, f Features) {
	q := newQueue(t, 5).Queue
	limit := strings.Repeat("x", f.MaxMessageBytes)
	if err := q.Send(context.Background(), limit); err != nil {
		t.Fatalf("a body of exactly the limit (%d bytes) was refused: %v", f.MaxMessageBytes, err)
	}
	err := q.Send(context.Background(), limit+"x")
	if !errors.Is(err, queue.ErrTooLarge) {
		t.Fatalf("a body one byte over the limit: err = %v, want queue.ErrTooLarge", err)
	}
	got := receive(t, q, 1, long)
	if len(got) != 1 || len(got[0].Body) != f.MaxMessageBytes {
		t.Fatalf("received %d messages, want the one of exactly the limit", len(got))
	}
	receiveNone(t, q, "the one over the limit was not queued")
}

// The concurrency test's load: senders send perSender good messages each, and the first
// of them also poison ones, which the receivers release each time they get one.
const (
	senders, perSender    = 4, 25
	receivers             = 4
	poison                = 3
	concurrentMaxReceives = 2 // the redrive policy's, dead-lettering the poison messages
)

// testConcurrent runs senders and receivers at once. Receivers delete every message
// except the poison ones, which they release each time until the redrive policy
// dead-letters them. Every message sent must end delivered or dead-lettered, once.
func testConcurrent(t *testing.T, newQueue NewQueue, f Features) {
	inst := newQueue(t, concurrentMaxReceives)
	var q queue.Queue = inst.Queue
	if f.SendRacesDelete {
		q = &sendDeleteLock{Queue: q}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	run := &concurrentRun{q: q, delivered: map[string]int{}}
	var wg sync.WaitGroup
	for r := range receivers {
		wg.Go(func() { run.receive(ctx, r) })
	}
	run.sendAll(ctx)
	dead := run.await(t, inst)
	cancel()
	wg.Wait()
	dead = append(dead, inst.DeadLetters(t)...)
	if len(run.errs) > 0 {
		t.Fatalf("%d errors, the first: %v", len(run.errs), run.errs[0])
	}
	run.check(t, dead)
}

// concurrentRun is what testConcurrent's receivers saw.
type concurrentRun struct {
	q              queue.Queue
	mu             sync.Mutex
	delivered      map[string]int // body → receives of a good message (1 unless duplicated)
	poisonReceives atomic.Int64
	errs           []error
}

func (run *concurrentRun) fail(err error) {
	run.mu.Lock()
	run.errs = append(run.errs, err)
	run.mu.Unlock()
}

// receive is receiver r until ctx ends: it deletes each good message and releases
// each poison one at once.
func (run *concurrentRun) receive(ctx context.Context, r int) {
	for ctx.Err() == nil {
		ms, err := run.q.Receive(ctx, queue.MaxBatch, long)
		if err != nil {
			if ctx.Err() == nil {
				run.fail(fmt.Errorf("receiver %d: %w", r, err))
			}
			return
		}
		if len(ms) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		for _, m := range ms {
			if strings.HasPrefix(m.Body, "poison") {
				run.poisonReceives.Add(1)
				if err := run.q.ChangeVisibility(context.Background(), m.Receipt, 0); err != nil {
					run.fail(err)
				}
				continue
			}
			run.mu.Lock()
			run.delivered[m.Body]++
			run.mu.Unlock()
			if err := run.q.Delete(context.Background(), m.Receipt); err != nil {
				run.fail(err)
			}
		}
	}
}

// sendAll sends the good and poison messages from senders goroutines at once, and
// returns when all are sent.
func (run *concurrentRun) sendAll(ctx context.Context) {
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				if err := run.q.Send(ctx, fmt.Sprintf("good-%d-%d", s, i)); err != nil {
					run.fail(err)
				}
				if s == 0 && i < poison {
					if err := run.q.Send(ctx, fmt.Sprintf("poison-%d", i)); err != nil {
						run.fail(err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// await takes the dead letters until every good message is delivered and as many
// dead letters as poison messages came, or 4 × settle passed.
func (run *concurrentRun) await(t *testing.T, inst Instance) []queue.Message {
	var dead []queue.Message
	deadline := time.Now().Add(4 * settle)
	for time.Now().Before(deadline) {
		dead = append(dead, inst.DeadLetters(t)...)
		run.mu.Lock()
		n := len(run.delivered)
		run.mu.Unlock()
		if n == senders*perSender && len(dead) >= poison {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dead
}

// check counts, per message, the good ones delivered and the poison ones dead-lettered:
// none lost, none twice; and each poison message received exactly as often as the
// redrive policy allows.
func (run *concurrentRun) check(t *testing.T, dead []queue.Message) {
	t.Helper()
	const sent = senders*perSender + poison
	duplicated := 0
	for _, n := range run.delivered {
		duplicated += n - 1
	}
	deadBodies := map[string]int{}
	for _, m := range dead {
		deadBodies[m.Body]++
	}
	lost := 0
	for s := range senders {
		for i := range perSender {
			if run.delivered[fmt.Sprintf("good-%d-%d", s, i)] == 0 {
				lost++
			}
		}
	}
	deadDuplicated := 0
	for i := range poison {
		switch n := deadBodies[fmt.Sprintf("poison-%d", i)]; {
		case n == 0:
			lost++
		case n > 1:
			deadDuplicated += n - 1
		}
	}
	t.Logf("%d sent: %d delivered, %d dead-lettered, %d duplicated, %d lost; %d receives of poison messages",
		sent, len(run.delivered), len(dead), duplicated+deadDuplicated, lost, run.poisonReceives.Load())
	if lost != 0 || duplicated != 0 || deadDuplicated != 0 {
		t.Errorf("lost %d, duplicated %d delivered and %d dead letters; want none", lost, duplicated, deadDuplicated)
	}
	if len(run.delivered) != senders*perSender || len(dead) != poison {
		t.Errorf("%d delivered and %d dead-lettered, want %d and %d", len(run.delivered), len(dead), senders*perSender, poison)
	}
	// Each poison message was received exactly concurrentMaxReceives times before the
	// redrive: the receivers released it at once every time, and its timeout never ran out.
	if got := run.poisonReceives.Load(); got != poison*concurrentMaxReceives {
		t.Errorf("poison messages received %d times, want %d", got, poison*concurrentMaxReceives)
	}
}

// sendDeleteLock keeps a queue's Sends and Deletes apart (Features.SendRacesDelete).
type sendDeleteLock struct {
	queue.Queue
	mu sync.Mutex
}

func (l *sendDeleteLock) Send(ctx context.Context, body string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Queue.Send(ctx, body)
}

func (l *sendDeleteLock) Delete(ctx context.Context, receipt string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Queue.Delete(ctx, receipt)
}
