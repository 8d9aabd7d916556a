package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestReconcileDryRun: the first run records the state file; the next prints what
// changed in between, as lines or as the events themselves.
func TestReconcileDryRun(t *testing.T) {
	srv := peerdomtest.NewServer(peerdomtest.Config{})
	defer srv.Close()
	role := srv.AddRole(peerdomapi.Role{Name: "Ops"})
	getenv := func(k string) string { return map[string]string{"PEERDOM_API_KEY": srv.Config().APIKey}[k] }
	state := filepath.Join(t.TempDir(), "state.json")
	run := func(asJSON bool) (string, string, int) {
		var out, errOut bytes.Buffer
		opts := &Options{IO: cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Getenv: getenv, API: cmdutil.APIFlag{URL: srv.URL}, StatePath: state, JSON: asJSON}
		code := Run(context.Background(), opts)
		return out.String(), errOut.String(), code
	}
	if out, errOut, code := run(false); code != 0 || out != "" || !strings.Contains(errOut, "first run") {
		t.Fatalf("first run: %d %q %q", code, out, errOut)
	}
	peer := srv.AddPeer(peerdomapi.Peer{FirstName: "Grace", LastName: "Hopper"})
	ctx := context.Background()
	if _, err := srv.Client().Roles().Update(ctx, role.ID, peerdomapi.RoleInput{Name: "Operations"}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(false)
	if code != 0 || !strings.Contains(out, "Peer Created   Grace Hopper ("+peer.ID+")") || !strings.Contains(out, "Role Updated   Operations ("+role.ID+"): Name") ||
		!strings.Contains(errOut, "2 differences") {
		t.Fatalf("second run: %d\n%s\n%s", code, out, errOut)
	}
	if out, _, _ := run(false); out != "" {
		t.Errorf("the state file was not updated: %s", out)
	}
	if err := srv.Client().Peers().Delete(ctx, peer.ID); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(true)
	var ev peerdom.Event
	if err := json.Unmarshal([]byte(out), &ev); code != 0 || err != nil || ev.DetailType != "Peer Deleted" || ev.Detail.Origin != "reconcile" || ev.Detail.EntityID != peer.ID {
		t.Errorf("--json: %d %v %s", code, err, out)
	}
	var errOut2 bytes.Buffer
	if code := Main(ctx, cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &errOut2}, getenv, []string{"--state", state}); code != 2 || !strings.Contains(errOut2.String(), "--dry-run") {
		t.Errorf("without --dry-run: %d %s", code, errOut2.String())
	}
}

// TestReconcileAPIErrors: a refused key (401) and an organization without the API (403)
// are said as export says them (cmdutil.KeyRefused); any other failure carries one "reconcile" prefix, the
// command's.
func TestReconcileAPIErrors(t *testing.T) {
	srv := peerdomtest.NewServer(peerdomtest.Config{})
	defer srv.Close()
	status := 0
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer plain.Close()
	cases := []struct {
		url, key string
		status   int
		want     string
	}{
		{srv.URL, "sk-wrong-key", 0, "peerbridge reconcile: Peerdom refused the API key (401 Unauthorized). Check PEERDOM_API_KEY"},
		{plain.URL, "sk-key", http.StatusForbidden, "peerbridge reconcile: Peerdom answered 403 Forbidden: the key is known but the organization may not use the API"},
		{plain.URL, "sk-key", http.StatusNotFound, "peerbridge reconcile: listing roles: peerdom api: GET "},
	}
	for _, c := range cases {
		status = c.status
		getenv := func(k string) string { return map[string]string{"PEERDOM_API_KEY": c.key}[k] }
		var errOut bytes.Buffer
		opts := &Options{IO: cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Getenv: getenv,
			API: cmdutil.APIFlag{URL: c.url}, StatePath: filepath.Join(t.TempDir(), "state.json")}
		code := Run(context.Background(), opts)
		if code != 1 || !strings.HasPrefix(errOut.String(), c.want) || strings.Count(errOut.String(), "reconcile") != 1 || strings.Contains(errOut.String(), c.key) {
			t.Errorf("%s (%d): exit %d, stderr %q, want it to start %q with one \"reconcile\"", c.url, c.status, code, errOut.String(), c.want)
		}
	}
}
