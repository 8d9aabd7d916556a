package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/serve"
)

// invoke refuses what it cannot run with exit status 1 and a message saying what to do,
// before building anything.
func TestInvokeRefusesWithWhatToDo(t *testing.T) {
	t.Setenv(serve.AdminDirEnv, t.TempDir()) // no serve running
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
