package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The function's own lines reach serve's stderr, whole even when written in pieces; the
// emulator's do not; each runner "event" line reports its outcome.
func TestFunctionLogFilter(t *testing.T) {
	var out bytes.Buffer
	var outcomes []string
	f := &functionLogFilter{w: &out, event: func(outcome, reason string) { outcomes = append(outcomes, outcome+":"+reason) }}
	for _, chunk := range []string{
		"01 Dec 2026 01:01:49,124 [INFO] (rapid) exec '/x/bootstrap'\nSTART RequestId: 1 Version: $LATEST\n",
		`{"level":"INFO","msg":"event","action":"tag-circle","outcome":"ign`, `ored","reason":"authored by bot"}` + "\n",
		"a plain line from the function\nEND RequestId: 1\nREPORT RequestId: 1\tDuration: 1 ms\n",
	} {
		if _, err := f.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"level":"INFO","msg":"event","action":"tag-circle","outcome":"ignored","reason":"authored by bot"}` + "\na plain line from the function\n"
	if out.String() != want {
		t.Errorf("passed on:\n%q\nwant\n%q", out.String(), want)
	}
	if len(outcomes) != 1 || outcomes[0] != "ignored:authored by bot" {
		t.Errorf("outcomes %v", outcomes)
	}
}

// invoke refuses what it cannot run with exit status 1 and a message saying what to do,
// before building anything.
func TestInvokeRefusesWithWhatToDo(t *testing.T) {
	t.Setenv(adminDirEnv, t.TempDir()) // no serve running
	tpl := filepath.Join("..", "..", "template.yaml")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"invoke", "NoSuchFunction", "--template", tpl}, 1, "its functions: EnrichFunction, IngestFunction, IngestUrlFunction"},
		{[]string{"invoke", "WebhookQueue", "--template", tpl}, 1, `no function "WebhookQueue"`},
		{[]string{"invoke", "IngestFunction", "--template", tpl, "--event", "nonexistent.json"}, 1, "--event: open nonexistent.json"},
		{[]string{"invoke", "IngestFunction", "--template", tpl, "--event", "-"}, 1, "the event is not JSON"},
		{[]string{"invoke", "IngestFunction", "--template", tpl, "--local", "--local-endpoint", "http://127.0.0.1:1"}, 1, "no serve is running"},
		{[]string{"invoke"}, 2, "name one function of the template"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader("not json"), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", c.args, code, stderr.String(), stdout.String(), c.code, c.want)
		}
	}
}
