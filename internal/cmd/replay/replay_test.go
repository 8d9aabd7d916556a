package replay

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ios := cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}
	opts, err := Parse(ios, []string{"--since", "2h", "--rule", "a", "--rule", "b", "--detail-type", "Role Created"}, now)
	if err != nil || !opts.Replay.Since.Equal(now.Add(-2*time.Hour)) || !opts.Replay.Until.Equal(now) ||
		!slices.Equal(opts.Replay.Rules, []string{"a", "b"}) || !slices.Equal(opts.Replay.DetailTypes, []string{"Role Created"}) {
		t.Fatalf("%+v %v", opts, err)
	}
	opts, err = Parse(ios, []string{"--since", "2026-11-30T09:00:00Z", "--until", "30m"}, now)
	if err != nil || opts.Replay.Since != time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) || !opts.Replay.Until.Equal(now.Add(-30*time.Minute)) {
		t.Fatalf("%+v %v", opts, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--since: required"},
		{[]string{"--since", "yesterday"}, "neither an RFC 3339 time"},
		{[]string{"--since", "2h", "--until", "soon"}, "--until:"},
		{[]string{"--since", "2h", "extra"}, "usage: peerbridge replay"},
	} {
		var errOut bytes.Buffer
		_, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: &errOut}, c.args, now)
		if cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: status %d, %q; want 2 and %q", c.args, cmdutil.Status(err), errOut.String(), c.want)
		}
	}
}
