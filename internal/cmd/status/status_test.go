package status

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/operate"
)

func TestLocalGoesToServe(t *testing.T) {
	var addr string
	var asJSON bool
	local := func(_ context.Context, adminAddr string, j bool, _, _ io.Writer) int {
		addr, asJSON = adminAddr, j
		return 0
	}
	code := Main(context.Background(), cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}, local, []string{"--local", "--admin-addr", "127.0.0.1:9", "--json"})
	if code != 0 || addr != "127.0.0.1:9" || !asJSON {
		t.Errorf("exit %d, serve asked with %q json=%v", code, addr, asJSON)
	}
	var errOut bytes.Buffer
	if _, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: &errOut}, []string{"extra"}); cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), "usage: peerbridge status") {
		t.Errorf("extra argument: %d %q", cmdutil.Status(err), errOut.String())
	}
}

// TestPrint: a deployed stack shows its alarms and last hour; serve its counts since it
// started.
func TestPrint(t *testing.T) {
	s := operate.Status{Stack: "pb", StackStatus: "UPDATE_COMPLETE", WebhookURL: "https://x/webhooks/<token>",
		DLQs:   []operate.QueueStatus{{Name: "webhook DLQ", Visible: 2, InFlight: 1}},
		Alarms: []operate.Alarm{{Name: "pb-dlq", State: "ALARM"}}, LastHour: map[string]float64{"WebhooksAccepted": 5}}
	var b bytes.Buffer
	Print(&b, s)
	for _, want := range []string{"stack          pb (UPDATE_COMPLETE)", "oldest no data", "webhook DLQ    3", "alarms  ALARM  pb-dlq", "last hour:", "WebhooksAccepted  5"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lacks %q:\n%s", want, b.String())
		}
	}
	s.CountsSince, s.Alarms = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), nil
	b.Reset()
	Print(&b, s)
	if strings.Contains(b.String(), "alarms") || !strings.Contains(b.String(), "since ") {
		t.Errorf("serve's status:\n%s", b.String())
	}
}
