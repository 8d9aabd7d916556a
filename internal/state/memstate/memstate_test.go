package memstate_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/internal/state/statetest"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store { return memstate.New() }, statetest.Features{ContentionRounds: 500})
}

// TestSaveLoad: a saved store reads back the same, and a missing file is an empty store.
func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	empty, err := memstate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := empty.All(ctx); len(all) != 0 {
		t.Fatalf("a missing file loaded %d records", len(all))
	}
	at := time.Date(2026, 12, 1, 1, 2, 3, 4, time.UTC)
	rec := state.NewRecord(peerdom.EntityRole, "r1", json.RawMessage(`{"id":"r1","name":"Ops"}`), at, state.FromReconcile)
	empty.Put(ctx, rec)
	empty.Put(ctx, state.Tombstone(peerdom.EntityPeer, "p1", at, state.FromWebhook))
	empty.SetBaseline(ctx, at)
	if err := empty.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := memstate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, _ := back.Get(ctx, peerdom.EntityRole, "r1")
	if !ok || got.Hash != rec.Hash || !got.LearnedAt.Equal(at) || string(got.Object) != string(rec.Object) {
		t.Errorf("loaded %+v, want %+v", got, rec)
	}
	if tomb, ok, _ := back.Get(ctx, peerdom.EntityPeer, "p1"); !ok || !tomb.Deleted {
		t.Errorf("tombstone loaded as %+v, %v", tomb, ok)
	}
	if b, ok, _ := back.Baseline(ctx); !ok || !b.Equal(at) {
		t.Errorf("baseline %v, %v", b, ok)
	}
}
