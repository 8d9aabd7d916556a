package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestDisplaySummaryWithoutDecodedDetail: an event shows the same whether the router
// decoded its detail (rules exist) or not (the display reads the few fields itself).
func TestDisplaySummaryWithoutDecodedDetail(t *testing.T) {
	raw := `{"id":"0123456789abcdef","name":"Ada Lovelace","changedFields":["Purpose","Peers"],"author":{"name":"","email":"ops@acme.example"},"text":"x"}`
	ev := events.CloudWatchEvent{DetailType: "Role Updated", Detail: json.RawMessage(raw)}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(raw), &decoded); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	(&display{w: &a}).event(ev, decoded, []string{"EnrichFunction"})
	(&display{w: &b}).event(ev, nil, []string{"EnrichFunction"})
	strip := func(s string) string { return s[len("15:04:05"):] } // the clock may tick between
	if strip(a.String()) != strip(b.String()) {
		t.Errorf("decoded: %q\nnot decoded: %q", a.String(), b.String())
	}
	for _, want := range []string{"Role Updated", `"Ada Lovelace"`, "changed Purpose, Peers", "by ops@acme.example", "[delivery 01234567]", "→ EnrichFunction"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%q lacks %q", b.String(), want)
		}
	}
	var c bytes.Buffer
	(&display{w: &c}).event(events.CloudWatchEvent{DetailType: "Odd", Detail: json.RawMessage(`not json`)}, nil, nil)
	if !strings.Contains(c.String(), "● Odd") {
		t.Errorf("non-JSON detail: %q", c.String())
	}
}

// TestActionLineNamesItsEvent: an action's line names its event's delivery, so it cannot
// be read as belonging to the heading above it.
func TestActionLineNamesItsEvent(t *testing.T) {
	var b bytes.Buffer
	d := &display{w: &b}
	ev := events.CloudWatchEvent{DetailType: "Peer Created", Detail: json.RawMessage(`{"id":"134a060d-ffff"}`)}
	d.actionDone("OnboardPeerFunction", ev, 2, nil)
	d.actionDone("OnboardPeerFunction", ev, 1, errors.New("boom"))
	want := "          ✓ OnboardPeerFunction on Peer Created [delivery 134a060d] (attempt 2)\n" +
		"          ✗ OnboardPeerFunction on Peer Created [delivery 134a060d]: boom\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
