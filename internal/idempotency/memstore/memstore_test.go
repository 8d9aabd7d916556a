package memstore_test

import (
	"testing"

	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/idempotency/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) idempotency.Store { return memstore.New(c.Now) },
		storetest.Features{ContentionRounds: 500})
}
