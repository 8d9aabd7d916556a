package action_test

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/pkg/action"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	c, err := action.LoadConfig(env(map[string]string{"PEERDOM_API_KEY": " k ", "IGNORE_AUTHORS": "a@x, ,b@y"}))
	if err != nil {
		t.Fatal(err)
	}
	want := action.Config{APIURL: "https://api.peerdom.org/v1", APIKey: "k", IgnoreAuthors: []string{"a@x", "b@y"}, EventSource: "peerdom"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("config = %+v, want %+v", c, want)
	}
	if _, err := action.LoadConfig(env(nil)); err == nil || !strings.Contains(err.Error(), "PEERDOM_API_KEY_PARAMETER") {
		t.Fatalf("no key: %v", err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), `"k"`) || !strings.Contains(buf.String(), `"apiKey":"[set]"`) {
		t.Fatalf("logged config: %s", buf.String())
	}
}

func TestAPIKeyFromSecret(t *testing.T) {
	for in, want := range map[string]string{"abc\n": "abc", `{"apiKey": " xyz "}`: "xyz"} {
		if got, err := action.APIKeyFromSecret(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "  ", `{"key": "x"}`, `{bad`} {
		if _, err := action.APIKeyFromSecret(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseFieldDefaults(t *testing.T) {
	got, err := action.ParseFieldDefaults(`{"Skills": ["Go", ""], "Purpose": "To be defined"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []action.FieldDefault{{Name: "Purpose", Values: []string{"To be defined"}}, {Name: "Skills", Values: []string{"Go"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	for _, bad := range []string{"", "[]", `{"a": 1}`, `{"a": ""}`, `{"": "x"}`, `{"a": [1]}`} {
		if _, err := action.ParseFieldDefaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNewBuiltin(t *testing.T) {
	s := newPeerdom(t, nil)
	api := fastClient(s)
	getenv := env(map[string]string{"ONBOARDING_ROLE_IDS": "r1, r2", "ROLE_DEFAULTS": `{"Purpose": "x"}`, "EVENT_SOURCE": "src"})
	h, err := action.NewBuiltin(action.NameOnboardPeer, api, getenv, nil)
	if o, ok := h.(*action.OnboardPeer); err != nil || !ok || !reflect.DeepEqual(o.RoleIDs, []string{"r1", "r2"}) {
		t.Fatalf("onboard-peer: %#v, %v", h, err)
	}
	h, err = action.NewBuiltin(action.NameRoleDefaults, api, getenv, nil)
	if r, ok := h.(*action.RoleDefaults); err != nil || !ok || r.Defaults[0].Name != "Purpose" {
		t.Fatalf("role-defaults: %#v, %v", h, err)
	}
	h, err = action.NewBuiltin(action.NameEnrich, api, getenv, membus.New())
	if e, ok := h.(*action.Enrich); err != nil || !ok || e.Source != "src" {
		t.Fatalf("enrich: %#v, %v", h, err)
	}
	if _, err := action.NewBuiltin(action.NameEnrich, api, getenv, nil); err == nil {
		t.Fatal("enrich without a bus")
	}
	if _, err := action.NewBuiltin("nope", api, getenv, nil); err == nil || !strings.Contains(err.Error(), "onboard-peer") {
		t.Fatalf("unknown name: %v", err)
	}
}
