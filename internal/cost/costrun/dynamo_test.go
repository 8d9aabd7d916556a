package costrun

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/idempotency/storetest"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/internal/state/statetest"
)

// The DynamoDB twin answers the real adapters as DynamoDB does: both pass the
// conformance suites the DynamoDB (moto) and in-memory stores pass.
func TestDynamoTwinConformance(t *testing.T) {
	t.Run("idempotency", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, c *storetest.Clock) idempotency.Store {
			return dynamostore.New(newDynamo(func(string, int, int) {}), "idem", dynamostore.WithClock(c.Now))
		}, storetest.Features{ContentionRounds: 20, ConditionalWriteRaces: true})
	})
	t.Run("state", func(t *testing.T) {
		statetest.Run(t, func(t *testing.T) state.Store {
			s := dynamostate.New(newDynamo(func(string, int, int) {}), "state")
			s.ScanPage = 7
			return s
		}, statetest.Features{ContentionRounds: 10, ConditionalWriteRaces: true})
	})
}

// Capacity units as DynamoDB bills them on demand: reads per 4 KB, writes per 1 KB of
// the larger of the old and the new item, at least one each.
func TestDynamoTwinUnits(t *testing.T) {
	for _, c := range []struct{ size, read, write int }{{0, 1, 1}, {1, 1, 1}, {1024, 1, 1}, {1025, 1, 2}, {4096, 1, 4}, {4097, 2, 5}} {
		if got := readUnits(c.size); got != c.read {
			t.Errorf("readUnits(%d) = %d, want %d", c.size, got, c.read)
		}
		if got := writeUnits(c.size); got != c.write {
			t.Errorf("writeUnits(%d) = %d, want %d", c.size, got, c.write)
		}
	}
}

// Reconciliation's scan of the state is eventually consistent: the twin bills it half
// the units of a consistent read of the same bytes.
func TestStateScanBillsEventualReads(t *testing.T) {
	for _, c := range []struct{ size, units int }{{0, 1}, {4096, 1}, {8192, 1}, {8193, 2}, {1 << 20, 128}} {
		if got := eventualReadUnits(c.size); got != c.units {
			t.Errorf("eventualReadUnits(%d) = %d, want %d", c.size, got, c.units)
		}
	}
	var scanUnits, scanBytes, scans int
	db := newDynamo(func(op string, units, bytes int) {
		if op == "Scan" {
			scans++
			scanUnits += units
			scanBytes += bytes
		}
	})
	s := dynamostate.New(db, "state")
	ctx := t.Context()
	obj := []byte(`{"id":"x","name":"` + strings.Repeat("n", 900) + `"}`)
	for i := range 100 {
		if _, err := s.Put(ctx, state.NewRecord("role", fmt.Sprint("r", i), obj, time.Unix(1, 0), state.FromReconcile)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.All(ctx)
	if err != nil || len(recs) != 100 {
		t.Fatalf("All: %d records, %v", len(recs), err)
	}
	if consistent := readUnits(scanBytes); scans != 1 || scanUnits != (consistent+1)/2 || scanUnits*2 > consistent+1 {
		t.Errorf("%d scans of %d bytes billed %d units; a consistent read is %d", scans, scanBytes, scanUnits, consistent)
	}
}
