package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
)

func TestParse(t *testing.T) {
	ios := cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}
	opts, err := Parse(ios, []string{"--detail-type", "Role Created", "--forward-to", "http://127.0.0.1:9/x", "--json"})
	if err != nil || opts.ForwardTo != "http://127.0.0.1:9/x" || !opts.Stack.JSON {
		t.Fatalf("%+v %v", opts, err)
	}
	var pattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
	}
	if err := json.Unmarshal([]byte(opts.Pattern), &pattern); err != nil || len(pattern.DetailType) != 1 || pattern.DetailType[0] != "Role Created" || pattern.Source[0] != "peerdom" {
		t.Errorf("pattern %s: %v", opts.Pattern, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pattern", "{bad"}, "peerbridge tail: "},
		{[]string{"extra"}, "usage: peerbridge tail"},
	} {
		var errOut bytes.Buffer
		_, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: &errOut}, c.args)
		if cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: status %d, %q", c.args, cmdutil.Status(err), errOut.String())
		}
	}
}

// TestForward: each event's JSON is posted as it came; a consumer's answer is reported.
func TestForward(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Header.Get("Content-Type")+" "+string(b))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	var errOut bytes.Buffer
	forward(context.Background(), srv.Client(), srv.URL, `{"id":"e1"}`, &errOut)
	if len(got) != 1 || got[0] != `application/json {"id":"e1"}` || !strings.Contains(errOut.String(), "→ "+srv.URL+" 202") {
		t.Errorf("got %q, stderr %q", got, errOut.String())
	}
	errOut.Reset()
	forward(context.Background(), srv.Client(), "http://127.0.0.1:1/", `{}`, &errOut)
	if !strings.Contains(errOut.String(), "✗ forward to http://127.0.0.1:1/") {
		t.Errorf("refused: %q", errOut.String())
	}
}
