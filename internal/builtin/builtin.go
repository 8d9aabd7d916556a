// Package builtin wires the shipped actions (pkg/action's OnboardPeer, RoleDefaults and
// Enrich) one way for every place that runs them: NewRunner makes an action's Runner
// from its settings and its adapters, for its Lambda function (functions/actions/*,
// through Lambda), for serve (in-memory twins) and for the cost harness (counting twins).
// Only the adapters differ between them.
package builtin

import (
	"log/slog"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Adapters are what a shipped action runs on. Leave a field nil rather than give it a
// nil pointer: a nil *memstate.Store in State is not a nil State.
type Adapters struct {
	API     *peerdomapi.Client
	Bus     bus.Putter        // where enrich publishes its snapshots; the others publish nothing
	State   state.Store       // nil: enrich keeps no entity state
	Once    idempotency.Store // nil: every delivery runs the handler (action.Once)
	Logger  *slog.Logger      // nil: slog.Default()
	Metrics action.Counter    // nil: no metric lines
}

// NewRunner makes the shipped action name as a Runner on a: its handler from its settings
// (getenv: ONBOARDING_ROLE_IDS, ROLE_DEFAULTS, EVENT_SOURCE, as action.NewBuiltin reads
// them), the authors of IGNORE_AUTHORS skipped, and a.Once around the handler. Enrich
// with a State keeps the entity state current and skips no author: the state must follow
// every change, the actions' own too, and enrich writes nothing to Peerdom, so it cannot
// loop.
func NewRunner(name string, getenv func(string) string, a Adapters) (*action.Runner, error) {
	var publish action.Publisher
	if a.Bus != nil {
		publish = bus.Publisher{Putter: a.Bus}
	}
	h, err := action.NewBuiltin(name, a.API, getenv, publish)
	if err != nil {
		return nil, err
	}
	ignore := action.ParseList(getenv("IGNORE_AUTHORS"))
	if e, ok := h.(*action.Enrich); ok && a.State != nil {
		e.State, ignore = state.Webhook{Store: a.State}, nil
	}
	r := &action.Runner{Name: name, Handler: h, IgnoreAuthors: ignore, Logger: a.Logger, Metrics: a.Metrics}
	if a.Once != nil {
		r.Once = &action.Once{Store: a.Once}
	}
	return r, nil
}
