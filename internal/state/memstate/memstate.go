// Package memstate is the in-memory twin of the DynamoDB entity state
// (internal/state/dynamostate), for serve, the command line and tests. It can be saved
// to and loaded from a JSON file (peerbridge reconcile --state FILE).
//
// Differences from DynamoDB, on purpose: All returns records sorted by entity and id
// (DynamoDB's scan order is the hash order), and times keep their nanoseconds as
// DynamoDB's do.
package memstate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

var _ state.Store = (*Store)(nil)

type key struct {
	entity peerdom.Entity
	id     string
}

// Store is safe for concurrent use. Make it with New or Load.
type Store struct {
	mu       sync.Mutex
	records  map[key]state.Record
	baseline time.Time
}

// New makes an empty store.
func New() *Store { return &Store{records: map[key]state.Record{}} }

// Put implements state.Store.
func (s *Store) Put(_ context.Context, rec state.Record) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{rec.Entity, rec.ID}
	if cur, ok := s.records[k]; ok && cur.LearnedAt.After(rec.LearnedAt) {
		return false, nil
	}
	rec.Object = slices.Clone(rec.Object)
	s.records[k] = rec
	return true, nil
}

// Get implements state.Store.
func (s *Store) Get(_ context.Context, e peerdom.Entity, id string) (state.Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key{e, id}]
	return rec, ok, nil
}

// All implements state.Store.
func (s *Store) All(context.Context) ([]state.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]state.Record, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b state.Record) int {
		return cmp.Or(cmp.Compare(a.Entity, b.Entity), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Baseline implements state.Store.
func (s *Store) Baseline(context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseline, !s.baseline.IsZero(), nil
}

// SetBaseline implements state.Store.
func (s *Store) SetBaseline(_ context.Context, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseline.IsZero() {
		s.baseline = t
	}
	return nil
}

// file is the JSON of a saved store.
type file struct {
	Baseline time.Time      `json:"baseline,omitzero"`
	Records  []state.Record `json:"records"`
}

// Load reads a store saved by Save; a file that does not exist is an empty store.
func Load(path string) (*Store, error) {
	s := New()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	s.baseline = f.Baseline
	for _, r := range f.Records {
		s.records[key{r.Entity, r.ID}] = r
	}
	return s, nil
}

// Save writes the store to path (through a temporary file, so a crash leaves the old one).
func (s *Store) Save(path string) error {
	recs, _ := s.All(context.Background())
	base, _, _ := s.Baseline(context.Background())
	b, err := json.Marshal(file{Baseline: base, Records: recs}) // not indented: that would re-indent the objects
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
