package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func seededPeerdom(t *testing.T) *peerdomtest.Server {
	t.Helper()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "export-key"})
	t.Cleanup(s.Close)
	root := s.AddGroup(peerdomapi.Group{Name: "Root", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"All of it"}}}})
	for i := range 7 {
		s.AddPeer(peerdomapi.Peer{FirstName: "Peer", LastName: string(rune('A' + i)),
			CustomFields: []peerdomapi.CustomField{{Name: "Languages", Values: []string{"en", "fr"}}}})
	}
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace, Countess", CustomFields: []peerdomapi.CustomField{{Name: "Team", Values: []string{"R&D"}}}})
	scribe := s.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: root.ID, CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Notes, \"minutes\""}}}})
	s.AddRole(peerdomapi.Role{Name: "Lead"})
	pct := 40.0
	s.AddHolder(peerdomapi.Holder{RoleID: scribe.ID, PeerID: ada.ID, Percentage: &pct, Focus: "minutes"})
	return s
}

func runExportWith(t *testing.T, env map[string]string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := exportMain(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr, tty)
	return code, stdout.String(), stderr.String()
}

func TestExportJSON(t *testing.T) {
	s := seededPeerdom(t)
	dir := t.TempDir()
	code, stdout, stderr := runExportWith(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, false,
		"--out", dir, "--page-size", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantLines := []string{"maps     1 → " + filepath.Join(dir, "maps.json"), "groups   1 →", "roles    2 →", "peers    8 →", "holders  1 →"}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != len(wantLines) {
		t.Fatalf("progress:\n%s", stderr)
	}
	for i, w := range wantLines {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("progress line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("in-place updates written to a non-terminal: %q", stderr)
	}
	if !strings.Contains(stdout, "exported 13 items in 5 files") {
		t.Errorf("stdout = %q", stdout)
	}

	var peers []peerdomapi.Peer
	readJSON(t, filepath.Join(dir, "peers.json"), &peers)
	if len(peers) != 8 || peers[7].LastName != "Lovelace, Countess" || len(peers[7].CustomFields) != 1 {
		t.Fatalf("peers.json: %+v", peers)
	}
	var roles []peerdomapi.Role
	readJSON(t, filepath.Join(dir, "roles.json"), &roles)
	if len(roles) != 2 || len(roles[0].Holders) != 1 || len(roles[0].CustomFields) != 1 {
		t.Fatalf("roles.json: %+v", roles)
	}
	// Every list was read with custom fields where they exist, page by page.
	for _, r := range s.Requests() {
		wantCF := r.Path == "/peers" || r.Path == "/roles" || r.Path == "/groups"
		if strings.Contains(r.Query, "with=customfields") != wantCF || !strings.Contains(r.Query, "limit=3") {
			t.Errorf("request %s?%s", r.Path, r.Query)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

func TestExportCSV(t *testing.T) {
	s := seededPeerdom(t)
	dir := t.TempDir()
	code, _, stderr := runExportWith(t, map[string]string{"PEERDOM_API_KEY": "export-key"}, false, "--format", "csv", "--out", dir, "--api-url", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	peers := readCSV(t, filepath.Join(dir, "peers.csv"))
	if !slices.Equal(peers[0][len(peers[0])-2:], []string{"cf:Languages", "cf:Team"}) || len(peers) != 9 {
		t.Fatalf("peers header = %v, rows %d", peers[0], len(peers))
	}
	if peers[1][len(peers[1])-2] != "en; fr" || peers[8][2] != "Lovelace, Countess" || peers[8][len(peers[8])-1] != "R&D" {
		t.Fatalf("peer rows: %v / %v", peers[1], peers[8])
	}
	roles := readCSV(t, filepath.Join(dir, "roles.csv"))
	if roles[0][11] != "holderPeerIds" || roles[1][1] != "Scribe" || roles[1][11] == "" || roles[1][12] != `Notes, "minutes"` {
		t.Fatalf("roles: %v", roles)
	}
	holders := readCSV(t, filepath.Join(dir, "holders.csv"))
	if len(holders) != 2 || holders[1][3] != "40" || holders[1][4] != "minutes" {
		t.Fatalf("holders: %v", holders)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestExportBadKey(t *testing.T) {
	s := seededPeerdom(t)
	dir := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runExportWith(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "sk-wrong-key"}, true, "--out", dir)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr, "Peerdom refused the API key (401 Unauthorized)") || strings.Contains(stderr, "sk-wrong-key") {
		t.Fatalf("stderr = %q", stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("output directory made for a refused key: %v", err)
	}
}

func TestExportUsageErrors(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, "set PEERDOM_API_KEY"},
		{map[string]string{"PEERDOM_API_KEY": "k"}, []string{"--format", "xml"}, "--format must be json or csv"},
		{map[string]string{"PEERDOM_API_KEY": "k"}, []string{"extra"}, "unexpected argument"},
		{map[string]string{"PEERDOM_API_KEY": "k", "PEERDOM_API_URL": "nope"}, nil, "not an http(s) URL"},
	} {
		code, _, stderr := runExportWith(t, c.env, false, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %v: exit %d, %q", c.env, c.args, code, stderr)
		}
	}
}

func TestExportProgressOnATerminal(t *testing.T) {
	s := seededPeerdom(t)
	code, _, stderr := runExportWith(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, true, "--out", t.TempDir())
	if code != 0 {
		t.Fatal(stderr)
	}
	// Each resource's line is rewritten in place (\r and erase-line) and then finished.
	if !strings.Contains(stderr, "\r\033[Kpeers    1…") || !strings.Contains(stderr, "\r\033[Kpeers    8 → ") {
		t.Fatalf("stderr = %q", stderr)
	}
}

func TestExportIsRegistered(t *testing.T) {
	var stderr bytes.Buffer
	run(context.Background(), []string{"help"}, nil, &bytes.Buffer{}, &stderr)
	if !strings.Contains(stderr.String(), "export") {
		t.Fatalf("usage lacks export: %s", stderr.String())
	}
}
