package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

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
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := reconcileMain(context.Background(), append([]string{"--dry-run", "--state", state, "--api-url", srv.URL}, args...), getenv, &out, &errOut)
		return out.String(), errOut.String(), code
	}
	if out, errOut, code := run(); code != 0 || out != "" || !strings.Contains(errOut, "first run") {
		t.Fatalf("first run: %d %q %q", code, out, errOut)
	}
	peer := srv.AddPeer(peerdomapi.Peer{FirstName: "Grace", LastName: "Hopper"})
	ctx := context.Background()
	if _, err := srv.Client().Roles().Update(ctx, role.ID, peerdomapi.RoleInput{Name: "Operations"}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run()
	if code != 0 || !strings.Contains(out, "Peer Created   Grace Hopper ("+peer.ID+")") || !strings.Contains(out, "Role Updated   Operations ("+role.ID+"): Name") ||
		!strings.Contains(errOut, "2 differences") {
		t.Fatalf("second run: %d\n%s\n%s", code, out, errOut)
	}
	if out, _, _ := run(); out != "" {
		t.Errorf("the state file was not updated: %s", out)
	}
	if err := srv.Client().Peers().Delete(ctx, peer.ID); err != nil {
		t.Fatal(err)
	}
	out, _, code = run("--json")
	var ev peerdom.Event
	if err := json.Unmarshal([]byte(out), &ev); code != 0 || err != nil || ev.DetailType != "Peer Deleted" || ev.Detail.Origin != "reconcile" || ev.Detail.EntityID != peer.ID {
		t.Errorf("--json: %d %v %s", code, err, out)
	}
	var errOut2 bytes.Buffer
	if code := reconcileMain(ctx, []string{"--state", state}, getenv, &bytes.Buffer{}, &errOut2); code != 2 || !strings.Contains(errOut2.String(), "--dry-run") {
		t.Errorf("without --dry-run: %d %s", code, errOut2.String())
	}
}
