package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"debug", slog.LevelDebug, true},
		{" INFO ", slog.LevelInfo, true},
		{"Warn", slog.LevelWarn, true},
		{"warning", slog.LevelWarn, true},
		{"error", slog.LevelError, true},
		{"", slog.LevelInfo, false},
		{"verbose", slog.LevelInfo, false},
	}
	for _, c := range cases {
		got, ok := ParseLevel(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestNewWritesJSONAtLevel(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "warn")
	log.Info("hidden")
	log.Warn("shown", "id", "d-1")
	got := lines(t, &buf)
	if len(got) != 1 {
		t.Fatalf("got %d lines, want 1: %s", len(got), buf.String())
	}
	if got[0]["msg"] != "shown" || got[0]["id"] != "d-1" || got[0]["level"] != "WARN" {
		t.Errorf("unexpected line %v", got[0])
	}
}

func TestNewDebugShowsDebug(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "debug").Debug("detail")
	if got := lines(t, &buf); len(got) != 1 || got[0]["level"] != "DEBUG" {
		t.Fatalf("debug line missing: %q", buf.String())
	}
}

func TestNewUnknownLevelWarnsAndUsesInfo(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "loud")
	log.Debug("hidden")
	log.Info("shown")
	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("got %d lines, want the warning and one info line: %s", len(got), buf.String())
	}
	if got[0]["level"] != "WARN" || got[0]["logLevel"] != "loud" || got[0]["msg"] != "unknown log level; using info" {
		t.Errorf("first line should warn about the level: %v", got[0])
	}
	if got[1]["msg"] != "shown" {
		t.Errorf("second line = %v", got[1])
	}
}

func TestNewEmptyLevelIsQuietInfo(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "")
	log.Debug("hidden")
	if buf.Len() != 0 {
		t.Fatalf("empty level should log nothing at debug and no warning: %q", buf.String())
	}
	log.Info("shown")
	if len(lines(t, &buf)) != 1 {
		t.Fatalf("info should be shown: %q", buf.String())
	}
}

// TestLambdaLinesHaveNoTime: a function's lines leave the time to CloudWatch's stamp;
// New's keep it.
func TestLambdaLinesHaveNoTime(t *testing.T) {
	var lambda, cmd bytes.Buffer
	Lambda(&lambda, "info").Info("webhook", "time", "an attribute of that name stays")
	New(&cmd, "info").Info("webhook")
	var l, c map[string]any
	if err := json.Unmarshal(lambda.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cmd.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	if l["msg"] != "webhook" || l["level"] != "INFO" || l["time"] != "an attribute of that name stays" || c["time"] == nil {
		t.Errorf("Lambda line %s; New line %s", lambda.String(), cmd.String())
	}
	if strings.Count(lambda.String(), `"time"`) != 1 {
		t.Errorf("Lambda line has the record's time: %s", lambda.String())
	}
}

func TestCheckOneKey(t *testing.T) {
	logs := []byte(`{"msg":"ready","action":"a","config":{"action":"x"}}
{"msg":"event","action":"a","action":"a"}
{"msg":"start"}
`)
	err := CheckOneKey(logs, "action")
	if err == nil || strings.Contains(err.Error(), "ready") || !strings.Contains(err.Error(), `2 times in {"msg":"event"`) || !strings.Contains(err.Error(), `0 times in {"msg":"start"}`) {
		t.Errorf("CheckOneKey = %v", err)
	}
	if err := CheckOneKey(logs[:strings.Index(string(logs), "\n")], "action"); err != nil {
		t.Errorf("one key: %v", err)
	}
}
