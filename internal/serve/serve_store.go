package serve

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/localpipeline/boltstore"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
)

// serve's durable store: the queue of accepted webhooks and the pending actions live in
// one bbolt file, serve.db, in the data directory, so that a kill -9 and a restart on the
// same directory deliver every accepted webhook once and run every pending action.

const DefaultDataDirText = "$XDG_STATE_HOME/peerbridge/serve, else ~/.local/state/peerbridge/serve"

// storeFile is the database's name in the data directory.
const storeFile = "serve.db"

// DefaultDataDir is the user's state directory for serve: $XDG_STATE_HOME (else
// ~/.local/state) on Linux and BSDs, the user config directory on macOS and Windows.
func DefaultDataDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "peerbridge", "serve"), nil
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no state directory: %w", err)
		}
		return filepath.Join(d, "peerbridge", "serve"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "peerbridge", "serve"), nil
}

// openStore opens the store in opts.dataDir and restores its queue into q; it returns the
// pending actions it held.
func (s *Stack) openStore(q *memqueue.Queue) ([]localpipeline.StoredAction, error) {
	if err := os.MkdirAll(s.opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	st, err := boltstore.Open(filepath.Join(s.opts.DataDir, storeFile), q)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w (another serve may use it: give it another --data-dir, or --in-memory)", err)
	}
	pending, err := st.Pending()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("--data-dir: reading the pending actions: %w", err)
	}
	s.store = st
	s.restoredQueue, s.restoredActions = len(q.Visible()), len(pending)
	return pending, nil
}

// openEventsOut opens the --events-out file for appending. With the store, lines past
// the length the store last recorded for this file were written by a serve killed before
// it recorded them (their webhooks are still queued, and will be published again): they
// are cut off, so each event is in the file once.
func (s *Stack) openEventsOut(name string) (*os.File, int64, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		// The events hold the organization's data (names, emails): readable by the user
		// only, as the spill file, an existing file others could read included.
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	size := fi.Size()
	if s.store == nil {
		return f, size, nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	path, length, err := s.store.EventsOut()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if path == abs && length >= 0 && size > length {
		if err := f.Truncate(length); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("cutting off the lines of an unrecorded batch: %w", err)
		}
		s.display.linef("  (--events-out: %d bytes written before a crash, for webhooks still queued, cut off; they are published again)", size-length)
		size = length
	}
	if err := s.store.SetEventsOut(abs, size); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}
