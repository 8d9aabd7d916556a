package builtin_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

// TestNewRunnerWiresEachShippedAction: the settings and adapters reach the runner as the
// Lambda functions, serve and the cost harness rely on: IGNORE_AUTHORS, Once on the
// store, enrich's snapshots on the bus and its state kept (then no author is skipped).
func TestNewRunnerWiresEachShippedAction(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	vars := map[string]string{"IGNORE_AUTHORS": "bot@acme.example", "ONBOARDING_ROLE_IDS": role.ID,
		"ROLE_DEFAULTS": `{"Purpose":"To be defined"}`, "EVENT_SOURCE": "peerdom-test"}
	b, st, once := membus.New(), memstate.New(), memstore.New(time.Now)
	for _, name := range action.Builtins() {
		r, err := builtin.NewRunner(name, env(vars), builtin.Adapters{API: s.Client(), Bus: b, Once: once, Logger: logging.Discard()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Name != name || r.Once == nil || r.Once.Store == nil || strings.Join(r.IgnoreAuthors, ",") != "bot@acme.example" {
			t.Errorf("%s: runner %+v", name, r)
		}
	}
	r, err := builtin.NewRunner(action.NameEnrich, env(vars), builtin.Adapters{API: s.Client(), Bus: b, State: st, Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if r.IgnoreAuthors != nil || r.Once != nil {
		t.Errorf("enrich with a state: ignore %v, once %v; want no author skipped, no Once without a store", r.IgnoreAuthors, r.Once)
	}
	ev := action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Role Created",
		Detail: peerdom.Detail{ID: "d-1", Entity: peerdom.EntityRole, Action: peerdom.ActionCreated, EntityID: role.ID,
			Author: &peerdom.Author{Name: "Bot", Email: "bot@acme.example"}}}
	if err := r.Run(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if evs := b.Events(); len(evs) != 1 || evs[0].Entry.DetailType != "Role Snapshot" || evs[0].Entry.Source != "peerdom-test" {
		t.Errorf("bus events %+v, want the role's snapshot from peerdom-test", evs)
	}
	if rec, ok, err := st.Get(context.Background(), peerdom.EntityRole, role.ID); err != nil || !ok || rec.Source != "webhook" {
		t.Errorf("state record %+v %v %v, want the role recorded from the webhook path", rec, ok, err)
	}
	if _, err := builtin.NewRunner("no-such-action", env(vars), builtin.Adapters{API: s.Client()}); err == nil {
		t.Error("an unknown action was made")
	}
	if _, err := builtin.NewRunner(action.NameEnrich, env(vars), builtin.Adapters{API: s.Client()}); err == nil {
		t.Error("enrich was made without a bus")
	}
}

// TestHandlerOfIsEachMainsConstructor: the constructor serve and the cost harness take by
// name is the one each function's main.go names.
func TestHandlerOfIsEachMainsConstructor(t *testing.T) {
	for name, want := range map[string]builtin.NewHandler{action.NameOnboardPeer: builtin.OnboardPeer,
		action.NameRoleDefaults: builtin.RoleDefaults, action.NameEnrich: builtin.Enrich} {
		got, err := builtin.HandlerOf(name)
		if err != nil || reflect.ValueOf(got).Pointer() != reflect.ValueOf(want).Pointer() {
			t.Errorf("HandlerOf(%q) = %v, %v", name, got, err)
		}
	}
	if len(action.Builtins()) != 3 {
		t.Errorf("shipped actions %v: give HandlerOf each", action.Builtins())
	}
}
