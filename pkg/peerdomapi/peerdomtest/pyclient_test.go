package peerdomtest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestPeerdomsPythonClient drives Peerdom's own Python client (peerdomclient, pinned in
// requirements-nodeps.txt, installed into .venv by `make venv`) against the double over
// HTTP with webhooks on: every call succeeds (the client parses a JSON body from every
// success) and every write comes back as one webhook, in order.
func TestPeerdomsPythonClient(t *testing.T) {
	python := os.Getenv("PEERBRIDGE_PYTHON")
	if python == "" {
		t.Skip("PEERBRIDGE_PYTHON is not set (make test sets it to .venv/bin/python)")
	}
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no Python at PEERBRIDGE_PYTHON (%v): run make venv", err)
	}
	if out, err := exec.Command(python, "-c", "import peerdomclient").CombinedOutput(); err != nil {
		t.Fatalf("peerdomclient is not installed in %s: run make venv (requirements-nodeps.txt pins it): %s", python, out)
	}
	var mu sync.Mutex
	var hooks []peerdom.Event
	s := peerdomtest.NewServer(peerdomtest.Config{Webhook: func(_ context.Context, body []byte) {
		wh, err := peerdom.DecodeWebhook(body)
		if err != nil {
			t.Errorf("webhook: %v", err)
			return
		}
		mu.Lock()
		hooks = append(hooks, peerdom.NewEvent("peerdom", peerdom.NewDelivery("", time.Now(), wh.Text, peerdom.Sender{})))
		mu.Unlock()
	}})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/peerdomclient_drive.py", s.URL, s.Config().APIKey)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct {
		Calls []struct {
			Call   string `json:"call"`
			Write  bool   `json:"write"`
			Error  string `json:"error"`
			Status int    `json:"status"`
		} `json:"calls"`
	}
	if jerr := json.Unmarshal(out, &res); err != nil || jerr != nil {
		t.Fatalf("driver: %v %v\n%s\n%s", err, jerr, out, stderr.String())
	}
	writes := 0
	for _, c := range res.Calls {
		if c.Error != "" {
			t.Errorf("%s: %s", c.Call, c.Error)
		}
		if c.Write {
			writes++
		}
	}
	if len(res.Calls) != 21 || writes != 11 {
		t.Fatalf("%d calls (%d writes), want 21 (11 writes): %+v", len(res.Calls), writes, res.Calls)
	}
	if i := slices.IndexFunc(res.Calls, func(c struct {
		Call   string `json:"call"`
		Write  bool   `json:"write"`
		Error  string `json:"error"`
		Status int    `json:"status"`
	}) bool {
		return c.Call == "create_holder"
	}); i < 0 || res.Calls[i].Status != 404 {
		t.Errorf("the removed /holders endpoint: %+v", res.Calls)
	}
	if err := s.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Writes()); n != writes {
		t.Errorf("the double applied %d writes, the driver made %d", n, writes)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, ev := range hooks {
		got = append(got, ev.DetailType+" "+ev.Detail.Name+" "+strings.Join(ev.Detail.ChangedFields, ","))
	}
	want := []string{
		"Group Created Python circle ",
		"Group Updated Python circles Name",
		"Role Created Python role ",
		"Role Updated Python roles Name",
		"Peer Created Monty Python ",
		"Peer Updated  Nickname", // an update names the entity only when its name changed
		"Role Updated  Peers",    // Monty assigned ([+])
		"Role Updated  Peers",    // and unassigned ([-])
		"Peer Deleted Monty Python ",
		"Role Deleted Python roles ",
		"Group Deleted Python circles ",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("webhooks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
