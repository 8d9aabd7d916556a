package boltqueue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/queue/queuetest"
	bolt "go.etcd.io/bbolt"
)

func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.MaxBatchDelay = time.Millisecond
	return db
}

func openQueue(t *testing.T, db *bolt.DB, maxReceives int) (*memqueue.Queue, *Journal) {
	t.Helper()
	q := &memqueue.Queue{MaxReceives: maxReceives}
	j, err := Open(db, q)
	if err != nil {
		t.Fatal(err)
	}
	return q, j
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, maxReceives int) queuetest.Instance {
		db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
		q, j := openQueue(t, db, maxReceives)
		t.Cleanup(func() {
			if err := j.Close(); err != nil {
				t.Error(err)
			}
			db.Close()
		})
		taken := 0
		return queuetest.Instance{Queue: q, DeadLetters: func(testing.TB) []queue.Message {
			dead := q.DeadLetters()
			out := dead[taken:]
			taken = len(dead)
			return out
		}}
	}, queuetest.Features{
		FIFO:                true,
		DeadLetterOnRelease: true,
		Visibility:          250 * time.Millisecond,
		MaxMessageBytes:     memqueue.MaxMessageBytes,
	})
}

var ctx = context.Background()

// TestReopen: what was sent and not handled, and the dead letters, are found again by
// a new queue on the same file; what was handled is not.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	db := openDB(t, path)
	q, j := openQueue(t, db, 1)
	var wg sync.WaitGroup
	for i := range 50 { // concurrent Sends share batches
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Send(ctx, fmt.Sprintf("m%02d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := q.Receive(ctx, 10, time.Minute)
	if err != nil || len(got) != 10 {
		t.Fatalf("Receive: %d, %v", len(got), err)
	}
	handled := map[string]bool{}
	for _, m := range got[:5] {
		if err := q.Delete(ctx, m.Receipt); err != nil {
			t.Fatal(err)
		}
		handled[m.Body] = true
	}
	deadBody := got[5].Body
	if err := q.ChangeVisibility(ctx, got[5].Receipt, 0); err != nil { // its one receive: dead-lettered
		t.Fatal(err)
	}
	// got[6:] stay in flight: a crash now must find them again.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openDB(t, path)
	defer db.Close()
	q2, j2 := openQueue(t, db, 1)
	defer j2.Close()
	vis := q2.Visible()
	if len(vis) != 44 {
		t.Fatalf("after reopen: %d visible, want 50 - 5 handled - 1 dead = 44", len(vis))
	}
	seen := map[string]int{}
	for _, m := range vis {
		seen[m.Body]++
		if handled[m.Body] || m.Body == deadBody {
			t.Errorf("%s found again after it was handled or dead-lettered", m.Body)
		}
		if m.ReceiveCount != 0 {
			t.Errorf("%s: receive count %d after reopen, want 0", m.Body, m.ReceiveCount)
		}
	}
	for b, n := range seen {
		if n != 1 {
			t.Errorf("%s found %d times", b, n)
		}
	}
	if dead := q2.DeadLetters(); len(dead) != 1 || dead[0].Body != deadBody {
		t.Fatalf("dead letters after reopen: %+v, want %s", dead, deadBody)
	}
	// A redrive is kept too.
	if n := q2.Redrive(nil); n != 1 {
		t.Fatalf("Redrive moved %d", n)
	}
	j2.Close()
	db.Close()
	db = openDB(t, path)
	q3, j3 := openQueue(t, db, 1)
	defer j3.Close()
	if len(q3.Visible()) != 45 || len(q3.DeadLetters()) != 0 {
		t.Fatalf("after redrive and reopen: %d visible, %d dead; want 45, 0", len(q3.Visible()), len(q3.DeadLetters()))
	}
}

// TestSendIsStoredBeforeItReturns: a Send that returned nil is in the database, before any
// flush or close (what a crash right after the 2xx would find).
func TestSendIsStoredBeforeItReturns(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	defer db.Close()
	q, j := openQueue(t, db, 5)
	defer j.Close()
	for i := range 20 {
		if err := q.Send(ctx, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
		if n, err := Len(db); err != nil || n != i+1 {
			t.Fatalf("after Send %d: database holds %d (%v)", i+1, n, err)
		}
	}
}
