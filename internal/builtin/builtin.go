// Package builtin wires the shipped actions (pkg/action's OnboardPeer, RoleDefaults and
// Enrich) one way for every place that runs them: each action's handler from its settings
// (OnboardPeer, RoleDefaults, Enrich), in a Runner on its adapters, for its Lambda
// function (functions/actions/*, through Lambda), for serve (in-memory twins, NewRunner)
// and for the cost harness (counting twins). Only the adapters differ between them.
//
// A function's main.go names its own action's constructor, so that the variables its
// code reads are its own (internal/envscan follows what main reaches).
package builtin

import (
	"fmt"
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

// NewHandler makes a shipped action's handler on a from its settings (getenv).
type NewHandler func(a Adapters, getenv func(string) string) (action.Handler, error)

// OnboardPeer is the OnboardPeer action: every new peer gets ONBOARDING_ROLE_IDS's roles.
func OnboardPeer(a Adapters, getenv func(string) string) (action.Handler, error) {
	return action.NewOnboardPeer(a.API, action.ParseList(getenv("ONBOARDING_ROLE_IDS")))
}

// RoleDefaults is the RoleDefaults action: ROLE_DEFAULTS's values fill a new role's empty
// custom fields.
func RoleDefaults(a Adapters, getenv func(string) string) (action.Handler, error) {
	defaults, err := action.ParseFieldDefaults(getenv("ROLE_DEFAULTS"))
	if err != nil {
		return nil, err
	}
	return action.NewRoleDefaults(a.API, defaults)
}

// Enrich is the Enrich action: snapshots on a.Bus from EVENT_SOURCE, and (a.State set)
// the entity state kept current.
func Enrich(a Adapters, getenv func(string) string) (action.Handler, error) {
	var publish action.Publisher
	if a.Bus != nil {
		publish = bus.Publisher{Putter: a.Bus}
	}
	e, err := action.NewEnrich(a.API, publish, getenv("EVENT_SOURCE"))
	if err != nil {
		return nil, err
	}
	if a.State != nil {
		e.State = state.Webhook{Store: a.State}
	}
	return e, nil
}

// HandlerOf is the constructor of the shipped action name.
func HandlerOf(name string) (NewHandler, error) {
	switch name {
	case action.NameOnboardPeer:
		return OnboardPeer, nil
	case action.NameRoleDefaults:
		return RoleDefaults, nil
	case action.NameEnrich:
		return Enrich, nil
	}
	return nil, fmt.Errorf("action: no shipped action is named %q (known: %v)", name, action.Builtins())
}

// NewRunner makes the shipped action name as a Runner on a, its settings from getenv.
func NewRunner(name string, getenv func(string) string, a Adapters) (*action.Runner, error) {
	newHandler, err := HandlerOf(name)
	if err != nil {
		return nil, err
	}
	h, err := newHandler(a, getenv)
	if err != nil {
		return nil, err
	}
	return runner(name, getenv, a, h), nil
}

// runner is h in the Runner of the action name: the authors of IGNORE_AUTHORS skipped,
// a.Once around it. Enrich keeping the entity state skips no author: the state must
// follow every change, the actions' own too, and enrich writes nothing to Peerdom, so it
// cannot loop.
func runner(name string, getenv func(string) string, a Adapters, h action.Handler) *action.Runner {
	ignore := action.ParseList(getenv("IGNORE_AUTHORS"))
	if e, ok := h.(*action.Enrich); ok && e.State != nil {
		ignore = nil
	}
	r := &action.Runner{Name: name, Handler: h, IgnoreAuthors: ignore, Logger: a.Logger, Metrics: a.Metrics}
	if a.Once != nil {
		r.Once = &action.Once{Store: a.Once}
	}
	return r
}
