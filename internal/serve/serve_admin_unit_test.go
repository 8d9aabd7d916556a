package serve

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The admin endpoint listens on a loopback address only.
func TestListenAdminLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:3003"} {
		if _, err := listenAdmin(net.Listen, addr); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--admin-addr %s: %v, want a refusal naming loopback", addr, err)
		}
	}
}

// A symlinked directory is refused for the admin file.
func TestPrivateFileNotThroughSymlinkedDir(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(real, link)
	if err := writePrivateFile(filepath.Join(link, "x.json"), []byte("{}")); err == nil {
		t.Error("wrote through a symlinked directory")
	}
}

// TestReasonsForgetTheOldest: past maxReasons, the oldest worker error is forgotten and
// every newer one kept; a reason noted again for a known message keeps its place.
func TestReasonsForgetTheOldest(t *testing.T) {
	c := newCounters()
	for i := range maxReasons {
		c.noteReason(fmt.Sprint("m", i), "first")
	}
	c.noteReason("m0", "again") // known: nothing is forgotten
	if got := c.reason("m0"); got != "again" {
		t.Fatalf("m0 = %q, want the newer reason", got)
	}
	c.noteReason("new", "x")
	if got := c.reason("m0"); got != "" {
		t.Errorf("m0, the oldest, is still kept: %q", got)
	}
	for _, id := range []string{"m1", fmt.Sprint("m", maxReasons-1), "new"} {
		if c.reason(id) == "" {
			t.Errorf("%s was forgotten", id)
		}
	}
	if len(c.reasons) != maxReasons || len(c.reasonOrder) != maxReasons {
		t.Errorf("kept %d reasons (%d in order), want %d", len(c.reasons), len(c.reasonOrder), maxReasons)
	}
}
