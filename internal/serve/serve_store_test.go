package serve

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
)

// TestEventsOutCutBackToCommitted: lines of --events-out past the length the store last
// recorded for that file (written by a serve killed before its commit) are cut off at the
// next start; another file, or lines within the recorded length, are left alone.
func TestEventsOutCutBackToCommitted(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	open := func() (*Stack, *bytes.Buffer) {
		var out bytes.Buffer
		s := &Stack{opts: Options{DataDir: filepath.Join(dir, "data")}, display: &display{w: &out}}
		if _, err := s.openStore(&memqueue.Queue{}); err != nil {
			t.Fatal(err)
		}
		return s, &out
	}
	s, _ := open()
	f, at, err := s.openEventsOut(events)
	if err != nil || at != 0 {
		t.Fatalf("first open: at %d, %v", at, err)
	}
	committed := "{\"a\":1}\n"
	f.WriteString(committed)
	if err := s.store.SetEventsOut(mustAbs(t, events), int64(len(committed))); err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"b\":2}\n") // written, then killed before the commit
	f.Close()
	s.store.Close()

	s, out := open()
	f, at, err = s.openEventsOut(events)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(events); string(b) != committed || at != int64(len(committed)) {
		t.Fatalf("after restart: file %q, at %d; want %q", b, at, committed)
	}
	if !strings.Contains(out.String(), "cut off") {
		t.Errorf("the cut is not shown: %q", out.String())
	}
	s.store.Close()

	// Another file is not cut, even if longer than the recorded length.
	other := filepath.Join(dir, "other.jsonl")
	os.WriteFile(other, []byte("{\"x\":1}\n{\"y\":2}\n{\"z\":3}\n"), 0o600)
	s, _ = open()
	defer s.store.Close()
	f, at, err = s.openEventsOut(other)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if at != 24 {
		t.Fatalf("another file: at %d, want its whole length 24", at)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
