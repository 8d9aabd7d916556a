package serve

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
	show := func(w *bytes.Buffer, detail map[string]any) {
		d := &display{w: w}
		d.event(ev, detail, []string{"EnrichFunction"})
		d.actionDone("EnrichFunction", ev, 1, nil) // the block is written once its action is done
	}
	show(&a, decoded)
	show(&b, nil)
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

// TestEventBlocksAreWrittenWhole: two events handled at once each come out as one block
// — heading, routing, its own API calls and outcomes — once its last action is final
// (a failure that will be retried is not); an ignored event shows – and the reason.
func TestEventBlocksAreWrittenWhole(t *testing.T) {
	var b bytes.Buffer
	d := &display{w: &b}
	evA := events.CloudWatchEvent{ID: "ea", DetailType: "Peer Created", Detail: json.RawMessage(`{"id":"aaaaaaaa1"}`)}
	evB := events.CloudWatchEvent{ID: "eb", DetailType: "Role Created", Detail: json.RawMessage(`{"id":"bbbbbbbb1"}`)}
	d.event(evA, nil, []string{"A", "B"})
	d.event(evB, nil, []string{"A"})
	call := func(ev events.CloudWatchEvent, fn, path string) {
		d.add(blockRef{eventID: ev.ID, function: fn}, false, "call "+fn+" "+path)
	}
	call(evA, "A", "/a1")
	call(evB, "A", "/b1")
	d.actionDone("A", evA, 1, errors.New("boom")) // retried: not final
	d.actionIgnored("A", evB, 1, "authored by bot")
	if strings.Contains(b.String(), "Peer Created") {
		t.Errorf("event A's block was written before its actions finished:\n%s", b.String())
	}
	call(evA, "A", "/a2")
	d.actionDone("A", evA, 2, nil)
	d.actionDone("B", evA, 1, nil)
	out := b.String()
	blocks := strings.Split(strings.TrimSpace(out), "\n")
	if len(blocks) != 11 || !strings.Contains(blocks[0], "Role Created") || !strings.Contains(blocks[4], "Peer Created") {
		t.Fatalf("want B's block (4 lines) then A's (7 lines), got:\n%s", out)
	}
	for i, want := range []string{"", "→ A", "call A /b1", "– A on Role Created [delivery bbbbbbbb]: ignored: authored by bot",
		"", "→ A, B", "call A /a1", "✗ A on Peer Created [delivery aaaaaaaa]: boom", "call A /a2", "✓ A on Peer Created [delivery aaaaaaaa] (attempt 2)", "✓ B on Peer Created"} {
		if want != "" && !strings.Contains(blocks[i], want) {
			t.Errorf("line %d %q lacks %q\n%s", i, blocks[i], want, out)
		}
	}
}
