package action_test

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

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
