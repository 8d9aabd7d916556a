package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/builtin"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

// TestWiredFromEnvironment builds the function as Lambda does, with a plain key (no AWS
// call at all), and runs a Role Created event as EventBridge delivers it.
func TestWiredFromEnvironment(t *testing.T) {
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Scribe"})
	var logs bytes.Buffer
	r, err := newRunner(ctx, env(map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": s.Config().APIKey,
		"ROLE_DEFAULTS": `{"Purpose": "To be defined"}`}), &logs)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := awsaction.ToEventBridge(action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Role Created", Time: time.Now(),
		Detail: peerdom.Detail{ID: "d-1", Entity: "role", Action: "created", EntityID: role.ID}})
	if err := awsaction.EventBridgeHandler(r)(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Role(role.ID)
	if peerdomapi.FieldEmpty(got.CustomFields, "Purpose") {
		t.Fatalf("Purpose not filled: %+v", got.CustomFields)
	}
	// main's logger, as here: each line (ready, the event's outcome) names the action once.
	if err := logging.CheckOneKey(logs.Bytes(), "action"); err != nil || !strings.Contains(logs.String(), `"outcome":"done"`) {
		t.Errorf("%v\n%s", err, logs.String())
	}
}

func TestConfigurationErrorsNameTheSetting(t *testing.T) {
	for name, c := range map[string]struct {
		vars map[string]string
		want string
	}{
		"no key":       {map[string]string{"ROLE_DEFAULTS": `{"Purpose": "x"}`}, "PEERDOM_API_KEY_PARAMETER"},
		"no defaults":  {map[string]string{"PEERDOM_API_KEY": "k"}, "ROLE_DEFAULTS"},
		"bad defaults": {map[string]string{"PEERDOM_API_KEY": "k", "ROLE_DEFAULTS": "Purpose=x"}, "ROLE_DEFAULTS"},
	} {
		if _, err := newRunner(context.Background(), env(c.vars), io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %s", name, err, c.want)
		}
	}
}

// newRunner builds the runner as main does, its log lines on w.
func newRunner(ctx context.Context, getenv func(string) string, w io.Writer) (*action.Runner, error) {
	fn := builtin.NewLambda(action.NameRoleDefaults, getenv, w)
	adapters, err := fn.AWS(ctx)
	return fn.Runner(adapters, err, builtin.RoleDefaults)
}
