// Package boltqueue keeps an in-memory queue (internal/queue/memqueue) on disk, in a bbolt
// database, so that a process killed and started again finds every message it accepted:
// the twin `peerbridge serve` uses by default. The queue works in memory as memqueue does
// (and passes the same conformance suite, internal/queue/queuetest); the database is its
// journal:
//
//   - Send returns nil only once the message is in the database and the database has
//     been synced to disk (concurrent Sends share one write and one sync);
//   - a handled (deleted) message is removed from the database lazily, within
//     FlushEvery: after a crash such a message may be received again, as an SQS message
//     may; the caller that must not handle it twice removes it in its own transaction
//     (DeleteTx), together with what handling it produced;
//   - dead-lettering and redriving are written at once;
//   - on Open, the messages found are queued again (in the order they were sent) with
//     their receive count reset, and the dead letters restored.
package boltqueue

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	bolt "go.etcd.io/bbolt"
)

// The buckets the queue uses in the database.
var (
	bucketQueue = []byte("queue")
	bucketDead  = []byte("queue-dead")
)

// FlushEvery is how long a handled message may stay in the database.
const FlushEvery = 100 * time.Millisecond

// record is a message as stored.
type record struct {
	Seq    uint64    `json:"seq"` // the order of sending
	Body   string    `json:"body"`
	SentAt time.Time `json:"sentAt"`
	// ReceiveCount is kept for dead letters only.
	ReceiveCount int `json:"receiveCount,omitempty"`
}

// Journal is the database side of one queue (memqueue.Journal).
type Journal struct {
	db *bolt.DB

	mu      sync.Mutex
	deletes []string // handled messages not yet removed from the database
	stop    chan struct{}
	done    chan struct{}
	closed  bool
	failed  []error
}

var _ memqueue.Journal = (*Journal)(nil)

// Open restores what db holds into q (which must be empty and not yet in use) and makes
// the Journal q's. Close it before closing db.
func Open(db *bolt.DB, q *memqueue.Queue) (*Journal, error) {
	var visible, dead []queue.Message
	var seqs []uint64
	err := db.Update(func(tx *bolt.Tx) error {
		qb, err := tx.CreateBucketIfNotExists(bucketQueue)
		if err != nil {
			return err
		}
		db, err := tx.CreateBucketIfNotExists(bucketDead)
		if err != nil {
			return err
		}
		if err := qb.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("message %s: %w", k, err)
			}
			visible = append(visible, queue.Message{ID: string(k), Body: r.Body, SentAt: r.SentAt})
			seqs = append(seqs, r.Seq)
			return nil
		}); err != nil {
			return err
		}
		return db.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("dead letter %s: %w", k, err)
			}
			dead = append(dead, queue.Message{ID: string(k), Body: r.Body, SentAt: r.SentAt, ReceiveCount: r.ReceiveCount})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("boltqueue: reading the queue: %w", err)
	}
	idx := make([]int, len(visible))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmpUint(seqs[a], seqs[b]) })
	ordered := make([]queue.Message, len(visible))
	for i, k := range idx {
		ordered[i] = visible[k]
	}
	slices.SortFunc(dead, func(a, b queue.Message) int { return a.SentAt.Compare(b.SentAt) })
	q.Restore(ordered, dead)
	j := &Journal{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	q.Journal = j
	go j.flushLoop()
	return j, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Sent stores m and syncs, sharing the write with concurrent Sends.
func (j *Journal) Sent(m queue.Message) error {
	return j.db.Batch(func(tx *bolt.Tx) error { return enqueue(tx, m) })
}

// enqueue writes m into the queue bucket behind every message there (its sequence is the
// order a reopened queue restores).
func enqueue(tx *bolt.Tx, m queue.Message) error {
	b := tx.Bucket(bucketQueue)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(record{Seq: seq, Body: m.Body, SentAt: m.SentAt})
	if err != nil {
		return err
	}
	return b.Put([]byte(m.ID), v)
}

// Deleted queues m's removal for the next flush.
func (j *Journal) Deleted(m queue.Message) {
	j.mu.Lock()
	j.deletes = append(j.deletes, m.ID)
	j.mu.Unlock()
}

// Purged forgets the dead letter m at once (memqueue.Purger).
func (j *Journal) Purged(m queue.Message) {
	j.write(func(tx *bolt.Tx) error { return tx.Bucket(bucketDead).Delete([]byte(m.ID)) })
}

// DeadLettered moves m to the dead letters at once.
func (j *Journal) DeadLettered(m queue.Message) {
	j.write(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketQueue).Delete([]byte(m.ID)); err != nil {
			return err
		}
		v, err := json.Marshal(record{Body: m.Body, SentAt: m.SentAt, ReceiveCount: m.ReceiveCount})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDead).Put([]byte(m.ID), v)
	})
}

// Redriven moves m back to the queue at once.
func (j *Journal) Redriven(m queue.Message) {
	j.write(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDead).Delete([]byte(m.ID)); err != nil {
			return err
		}
		return enqueue(tx, m)
	})
}

// write runs fn in a batch; a failure is kept for Close to report (the memqueue.Journal
// calls other than Sent return nothing: the queue has moved on in memory).
func (j *Journal) write(fn func(*bolt.Tx) error) {
	if err := j.db.Batch(fn); err != nil {
		j.mu.Lock()
		j.failed = append(j.failed, err)
		j.mu.Unlock()
	}
}

// DeleteTx removes the message id within tx: for a caller that records, in the same
// transaction, what handling the message produced, so that neither is kept without the
// other.
func DeleteTx(tx *bolt.Tx, id string) error {
	return tx.Bucket(bucketQueue).Delete([]byte(id))
}

// Flush removes the handled messages from the database now.
func (j *Journal) Flush() error {
	j.mu.Lock()
	ids := j.deletes
	j.deletes = nil
	j.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQueue)
		for _, id := range ids {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (j *Journal) flushLoop() {
	defer close(j.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			if err := j.Flush(); err != nil {
				j.mu.Lock()
				j.failed = append(j.failed, err)
				j.mu.Unlock()
			}
		}
	}
}

// Close stops the flushing and flushes what is left; it reports the writes that failed
// since Open.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	err := j.Flush()
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		j.failed = append(j.failed, err)
	}
	if len(j.failed) > 0 {
		return fmt.Errorf("boltqueue: %d write(s) failed, the first: %w", len(j.failed), j.failed[0])
	}
	return nil
}

// Len is how many messages (not dead letters) the database holds, for tests.
func Len(db *bolt.DB) (n int, err error) {
	err = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketQueue); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
