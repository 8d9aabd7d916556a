package serve

import (
	"bytes"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/action"
)

// The function's own lines reach serve's stderr, whole even when written in pieces; the
// emulator's do not; each runner "event" line reports its outcome.
func TestFunctionLogFilter(t *testing.T) {
	var out bytes.Buffer
	var outcomes []string
	f := &functionLogFilter{w: &out, event: func(outcome action.Outcome, reason string) { outcomes = append(outcomes, string(outcome)+":"+reason) }}
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
