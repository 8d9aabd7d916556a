package dlq

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// TestParse: each subcommand gets what it needs, or a usage error (2) saying what is
// missing.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // in stderr; "" means it parses
	}{
		{[]string{"list", "--limit", "3", "--queue", "events"}, ""},
		{[]string{"show", "--id", "m1"}, ""},
		{[]string{"redrive", "--id", "a", "--id", "b"}, ""},
		{[]string{"redrive", "--all", "--queue", "events", "--local"}, ""},
		{[]string{"purge", "--yes"}, ""},
		{nil, "usage: peerbridge dlq"},
		{[]string{"list", "extra"}, "usage: peerbridge dlq"},
		{[]string{"nope"}, `unknown subcommand "nope"`},
		{[]string{"list", "--queue", "other"}, "--queue is webhooks or events"},
		{[]string{"show"}, "name one message with --id"},
		{[]string{"redrive"}, "pass --all, or --id"},
		{[]string{"redrive", "--all", "--id", "x"}, "pass --all, or --id"},
		{[]string{"redrive", "--all", "--queue", "events"}, "peerbridge replay --rule RULE"},
	} {
		var errOut bytes.Buffer
		opts, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: &errOut}, c.args)
		if c.want == "" {
			if err != nil || opts.Sub != c.args[0] {
				t.Errorf("%q: %v %s", c.args, err, errOut.String())
			}
			continue
		}
		if cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: status %d, stderr %q; want 2 and %q", c.args, cmdutil.Status(err), errOut.String(), c.want)
		}
	}
	opts, _ := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}, []string{"redrive", "--id", "a", "--id", "b", "--json", "--stack", "s"})
	if !slices.Equal(opts.IDs, []string{"a", "b"}) || !opts.Stack.JSON || opts.Stack.Stack != "s" || opts.Queue != operate.Webhooks {
		t.Errorf("options %+v", opts)
	}
}

// TestLocalGoesToServe: with --local the subcommand goes to serve's side, flags and all.
func TestLocalGoesToServe(t *testing.T) {
	var got []any
	local := func(_ context.Context, adminAddr, sub, kind string, ids []string, all, asJSON bool, limit int, _, _ io.Writer) int {
		got = []any{adminAddr, sub, kind, ids, all, asJSON, limit}
		return 3
	}
	code := Main(context.Background(), cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}, local,
		[]string{"list", "--local", "--admin-addr", "127.0.0.1:9", "--queue", "events", "--limit", "2", "--json"})
	if code != 3 || len(got) != 7 || got[0] != "127.0.0.1:9" || got[1] != "list" || got[2] != operate.Events || got[5] != true || got[6] != 2 {
		t.Errorf("exit %d, serve got %v", code, got)
	}
}

func TestPrintDeadLetters(t *testing.T) {
	var b bytes.Buffer
	PrintDeadLetters(&b, operate.Webhooks, nil)
	if b.String() != "The webhooks dead-letter queue is empty.\n" {
		t.Errorf("empty: %q", b.String())
	}
	b.Reset()
	PrintDeadLetters(&b, operate.Events, []operate.DeadLetter{{MessageID: "m1", DetailType: "Role Created", Reason: "boom"}})
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "EVENT") || !strings.HasPrefix(lines[1], "m1") || !strings.HasSuffix(lines[1], "boom") {
		t.Errorf("events table: %q", b.String())
	}
	if IndentJSON(`{"a":1}`) != "{\n  \"a\": 1\n}" || IndentJSON("not json") != "not json" {
		t.Error("IndentJSON")
	}
}
