// Package servetest holds what the tests of serve (internal/serve) and of the serve
// command (cmd/peerbridge) share: a buffer safe for the display's goroutines, and the
// Role Created webhooks their load and kill tests send and count.
package servetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// RoleText is a Role Created webhook about the role with this id.
func RoleText(id string, i int) string {
	return "**[Role](https://app.peerdom.org/acme/map/3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11/role/" + id + ")** was created\n\n" +
		"**Author:** Jane Doe (jane@example.com)\n\n" + fmt.Sprintf("**Name:** Role %d\n**Map:** Main map", i)
}

// RoleID is the id of the i-th role the tests create.
func RoleID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// BusEvents reads the Role Created events of an --events-out file: delivery id -> count.
// A line cut short by a kill is skipped.
func BusEvents(t testing.TB, name string) (perDelivery map[string]int) {
	t.Helper()
	perDelivery = map[string]int{}
	b, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var ev struct {
			DetailType string              `json:"detail-type"`
			Detail     struct{ ID string } `json:"detail"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.DetailType != "Role Created" {
			continue
		}
		perDelivery[ev.Detail.ID]++
	}
	return perDelivery
}

// Tally counts, for each delivery id accepted, how many times it is on the bus (onBus:
// delivery id -> count, as BusEvents reads it): once is delivered, more is duplicated,
// never is lost.
func Tally[V any](accepted map[string]V, onBus map[string]int) (delivered, duplicated, lost int) {
	for id := range accepted {
		switch onBus[id] {
		case 0:
			lost++
		case 1:
			delivered++
		default:
			duplicated++
		}
	}
	return delivered, duplicated, lost
}

// WritesPerRole counts the sandbox's applied writes per role id.
func WritesPerRole(p *peerdomtest.Peerdom) map[string]int {
	out := map[string]int{}
	for _, w := range p.Writes() {
		if i := strings.Index(w.Path, "/roles/"); i >= 0 {
			id, _, _ := strings.Cut(w.Path[i+len("/roles/"):], "/")
			out[id]++
		}
	}
	return out
}

// LastLines is the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// WaitFor polls cond until it holds, or fails the test after 20 seconds.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// SendKind posts the sample webhook of this kind (internal/webhooksamples) to url and
// fails the test unless it is accepted.
func SendKind(t testing.TB, url, kind string) {
	t.Helper()
	body, _ := webhooksamples.Body(kind)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d", kind, resp.StatusCode)
	}
}
