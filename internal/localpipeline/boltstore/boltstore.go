// Package boltstore keeps the local pipeline's state on disk in one bbolt database: its
// queue (internal/queue/boltqueue) and its action stage (localpipeline.Store), so that
// `peerbridge serve` killed and started again on the same file delivers every accepted
// webhook once and runs every pending action.
package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/queue/boltqueue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	bucketActions = []byte("actions")
	bucketDead    = []byte("actions-dead")
	bucketMeta    = []byte("meta")
	keyEventsPath = []byte("events-out-path")
	keyEventsAt   = []byte("events-out-length")
)

// Store is the open database.
type Store struct {
	db      *bolt.DB
	journal *boltqueue.Journal
}

var _ localpipeline.Store = (*Store)(nil)

// ErrLocked is returned by Open when another process has the database open.
var ErrLocked = errors.New("the data file is in use by another process (another peerbridge serve?)")

// Open opens (or creates) the database at path and restores its queue into q, which
// must be new; q then keeps itself in the database.
func Open(path string, q *memqueue.Queue) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	// Concurrent webhooks share one write and one sync; a lone one waits at most this.
	db.MaxBatchDelay = time.Millisecond
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketActions, bucketDead, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, err
	}
	j, err := boltqueue.Open(db, q)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, journal: j}, nil
}

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// Commit implements localpipeline.Store.
func (s *Store) Commit(c *localpipeline.Commit) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, id := range c.Published {
			if err := boltqueue.DeleteTx(tx, id); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucketActions)
		for i := range c.Actions {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			v, err := json.Marshal(c.Actions[i])
			if err != nil {
				return err
			}
			if err := b.Put(itob(seq), v); err != nil {
				return err
			}
			c.Actions[i].Key = seq
		}
		if c.EventsOut >= 0 {
			return tx.Bucket(bucketMeta).Put(keyEventsAt, []byte(strconv.FormatInt(c.EventsOut, 10)))
		}
		return nil
	})
}

// Done implements localpipeline.Store.
func (s *Store) Done(key uint64, dead *localpipeline.StoredAction) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketActions).Delete(itob(key)); err != nil {
			return err
		}
		if dead == nil {
			return nil
		}
		v, err := json.Marshal(dead)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDead).Put(itob(key), v)
	})
}

// Pending returns the pending actions, oldest first.
func (s *Store) Pending() ([]localpipeline.StoredAction, error) {
	var out []localpipeline.StoredAction
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketActions).ForEach(func(k, v []byte) error {
			var a localpipeline.StoredAction
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("pending action %x: %w", k, err)
			}
			a.Key = binary.BigEndian.Uint64(k)
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// DeadActions returns how many actions were dead-lettered and kept.
func (s *Store) DeadActions() (n int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDead).Stats().KeyN
		return nil
	})
	return n, err
}

// EventsOut returns the events file last used and its length as last committed
// (-1 when none was recorded).
func (s *Store) EventsOut() (path string, length int64, err error) {
	length = -1
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		path = string(b.Get(keyEventsPath))
		if v := b.Get(keyEventsAt); v != nil {
			length, _ = strconv.ParseInt(string(v), 10, 64)
		}
		return nil
	})
	return path, length, err
}

// SetEventsOut records the events file now used and its length.
func (s *Store) SetEventsOut(path string, length int64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if err := b.Put(keyEventsPath, []byte(path)); err != nil {
			return err
		}
		return b.Put(keyEventsAt, []byte(strconv.FormatInt(length, 10)))
	})
}

// Close flushes the queue's lazy deletes and closes the database.
func (s *Store) Close() error {
	return errors.Join(s.journal.Close(), s.db.Close())
}
