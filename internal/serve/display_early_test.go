package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestActionLinesBeforeTheirEventJoinItsBlock: the pipeline hands an event to its
// targets before it tells the display of it, so an action's API calls and its outcome may
// come first. They wait for the event's heading and come out in its one block, written
// when its last action is done; nothing is written loose, and nothing is left
// "unfinished" at shutdown.
func TestActionLinesBeforeTheirEventJoinItsBlock(t *testing.T) {
	var b bytes.Buffer
	d := &display{w: &b}
	ev := events.CloudWatchEvent{ID: "e1", DetailType: "Role Updated", Detail: json.RawMessage(`{"id":"7b936463-1"}`)}
	d.add(blockRef{eventID: "e1", function: "A"}, false, "            ↳ a GET /v1/roles/x → 200 (0s)")
	d.actionDone("A", ev, 1, nil)
	d.add(blockRef{eventID: "e1", function: "B"}, false, "            ↳ b GET /v1/roles/x → 200 (0s)")
	if b.Len() != 0 {
		t.Fatalf("lines written before their event's heading:\n%s", b.String())
	}
	d.event(ev, nil, []string{"A", "B"})
	if b.Len() != 0 {
		t.Fatalf("the block was written before B finished:\n%s", b.String())
	}
	d.actionDone("B", ev, 1, nil)
	d.flush()
	got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{"● Role Updated", "→ A, B", "↳ a GET", "✓ A on Role Updated [delivery 7b936463]", "↳ b GET", "✓ B on Role Updated [delivery 7b936463]"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), b.String())
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("line %d %q lacks %q\n%s", i, got[i], want[i], b.String())
		}
	}

	// Every action done before the heading: the block is written with the heading.
	b.Reset()
	ev2 := events.CloudWatchEvent{ID: "e2", DetailType: "Peer Created", Detail: json.RawMessage(`{"id":"a27dee29-1"}`)}
	d.actionDone("A", ev2, 1, nil)
	d.event(ev2, nil, []string{"A"})
	if out := b.String(); !strings.Contains(out, "● Peer Created") || !strings.Contains(out, "✓ A on Peer Created") || strings.Index(out, "●") > strings.Index(out, "✓") {
		t.Errorf("an event whose actions all finished first:\n%s", out)
	}

	// Lines of an event the display never hears of are still written at shutdown.
	b.Reset()
	d.add(blockRef{eventID: "e3", function: "A"}, false, "lost line")
	d.flush()
	if b.String() != "lost line\n" {
		t.Errorf("flush of early lines: %q", b.String())
	}
}

// TestEventBlocksWholeUnderRaces: events whose heading and action lines come from
// different goroutines, in either order, each come out once, as one contiguous block
// with the heading first.
func TestEventBlocksWholeUnderRaces(t *testing.T) {
	var b syncBuf
	d := &display{w: &b}
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		ev := events.CloudWatchEvent{ID: fmt.Sprintf("ev%d", i), DetailType: "Role Updated", Detail: json.RawMessage(fmt.Sprintf(`{"id":"%08d-x"}`, i))}
		wg.Add(3)
		go func() { defer wg.Done(); d.event(ev, nil, []string{"A", "B"}) }()
		for _, fn := range []string{"A", "B"} {
			go func() {
				defer wg.Done()
				d.add(blockRef{eventID: ev.ID, function: fn}, false, fmt.Sprintf("            ↳ %s call of %s", fn, ev.ID))
				d.actionDone(fn, ev, 1, nil)
			}()
		}
	}
	wg.Wait()
	d.flush()
	out := b.String()
	if strings.Contains(out, "unfinished") {
		t.Fatalf("a block left unfinished:\n%s", out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != n*6 {
		t.Fatalf("%d lines, want %d (6 per event)", len(lines), n*6)
	}
	seen := map[string]int{}
	for i := 0; i < len(lines); i += 6 {
		head := lines[i]
		k := strings.Index(head, "[delivery ")
		if !strings.Contains(head, "● Role Updated") || k < 0 {
			t.Fatalf("line %d is not a heading: %q\n%s", i, head, out)
		}
		id := head[k+len("[delivery ") : k+len("[delivery ")+8]
		seen[id]++
		for _, l := range lines[i+1 : i+6] {
			if strings.Contains(l, "↳") && !strings.Contains(l, fmt.Sprintf("ev%d ", mustAtoi(t, id))) && !strings.HasSuffix(l, fmt.Sprintf("ev%d", mustAtoi(t, id))) {
				t.Errorf("block of %s holds another event's line %q", id, l)
			}
			if strings.Contains(l, "on Role Updated") && !strings.Contains(l, "[delivery "+id+"]") {
				t.Errorf("block of %s holds another event's outcome %q", id, l)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct blocks, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s written %d times", id, c)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
