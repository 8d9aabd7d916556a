package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func seededPeerdom(t *testing.T) *peerdomtest.Server {
	t.Helper()
	return seededPeerdomUnder(t, peerdomtest.Alternatives()[0])
}

// seededPeerdomUnder is seededPeerdom under one of the API's unverified behaviours; it
// seeds its own root circle.
func seededPeerdomUnder(t *testing.T, alt peerdomtest.Alternative) *peerdomtest.Server {
	t.Helper()
	cfg := peerdomtest.Config{APIKey: "export-key"}
	alt.Apply(&cfg)
	cfg.NoRootCircle = true
	s := peerdomtest.NewServer(cfg)
	t.Cleanup(s.Close)
	root := s.AddGroup(peerdomapi.Group{Name: "Root", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"All of it"}}}})
	for i := range 7 {
		s.AddPeer(peerdomapi.Peer{FirstName: "Peer", LastName: string(rune('A' + i)),
			CustomFields: []peerdomapi.CustomField{{Name: "Languages", Values: []string{"en", "fr"}}}})
	}
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace, Countess", CustomFields: []peerdomapi.CustomField{{Name: "Team", Values: []string{"R&D"}}}})
	scribe := s.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: root.ID, CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Notes, \"minutes\""}}}})
	s.AddRole(peerdomapi.Role{Name: "Lead"})
	pct := 40
	s.AddHolder(peerdomtest.Holder{RoleID: scribe.ID, PeerID: ada.ID, Percentage: &pct, Focus: "minutes"})
	s.AddPeer(peerdomapi.Peer{FirstName: "Gone", LastName: "Before", LeftAt: "2024-05-31T00:00:00Z"})
	return s
}

// runExport runs export with opts (json and the API's default page size unless given)
// and env as its environment.
func runExport(t *testing.T, env map[string]string, opts Options) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	opts.IO = cmdutil.IOStreams{Out: &stdout, ErrOut: &stderr}
	opts.Getenv = func(k string) string { return env[k] }
	if opts.Format == "" {
		opts.Format = "json"
	}
	if opts.PageSize == 0 {
		opts.PageSize = peerdomapi.DefaultPageSize
	}
	code := Run(context.Background(), &opts)
	return code, stdout.String(), stderr.String()
}

// runExportArgs runs export's command line, parsing included.
func runExportArgs(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), cmdutil.IOStreams{Out: &stdout, ErrOut: &stderr}, func(k string) string { return env[k] }, args)
	return code, stdout.String(), stderr.String()
}

func TestExportJSON(t *testing.T) {
	s := seededPeerdom(t)
	dir := t.TempDir()
	code, stdout, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, Options{OutDir: dir, PageSize: 3})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantLines := []string{"maps     1 → " + filepath.Join(dir, "maps.json"), "groups   1 →", "roles    2 →", "role_holders 1 → " + filepath.Join(dir, "role_holders.json"), "peers    8 →"}
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
	if !strings.Contains(stdout, "exported 13 items in 5 files") { // the former peer left out
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
	var holders []map[string]any
	readJSON(t, filepath.Join(dir, "role_holders.json"), &holders)
	if len(holders) != 1 || holders[0]["roleId"] != roles[0].ID || holders[0]["peerId"] != peers[7].ID || holders[0]["contribution"] != 40.0 {
		t.Fatalf("role_holders.json: %+v", holders)
	}
	// Every list was read with custom fields where they exist, page by page, and the
	// assignments came from the roles: no /holders request (the API has none).
	paths := map[string]bool{}
	for _, r := range s.Requests() {
		paths[r.Path] = true
		wantCF := r.Path == "/peers" || r.Path == "/roles" || r.Path == "/circles"
		if strings.Contains(r.Query, "with=customfields") != wantCF || !strings.Contains(r.Query, "limit=3") || r.Status != 200 {
			t.Errorf("request %s?%s: %d", r.Path, r.Query, r.Status)
		}
	}
	if want := map[string]bool{"/maps": true, "/circles": true, "/roles": true, "/peers": true}; !maps.Equal(paths, want) {
		t.Errorf("paths requested = %v, want %v", paths, want)
	}
}

func TestExportIncludeFormer(t *testing.T) {
	s := seededPeerdom(t)
	dir := t.TempDir()
	code, stdout, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, Options{OutDir: dir, Format: "csv", IncludeFormer: true}) // former peers are in by default
	if code != 0 || !strings.Contains(stdout, "exported 14 items") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	peers := readCSV(t, filepath.Join(dir, "peers.csv"))
	if len(peers) != 10 || !slices.Equal(peers[0][9:12], []string{"joinedAt", "leftAt", "former"}) {
		t.Fatalf("peers: %v", peers)
	}
	formers := 0
	for _, row := range peers[1:] {
		if row[11] == "true" {
			formers++
			if row[1] != "Gone" || row[10] != "2024-05-31T00:00:00Z" {
				t.Errorf("former row %v", row)
			}
		}
	}
	if formers != 1 {
		t.Fatalf("%d peers marked former, want 1", formers)
	}
	for _, r := range s.Requests() {
		if r.Path == "/peers" && !strings.Contains(r.Query, "includeFormer=true") {
			t.Errorf("peers listed without includeFormer: %s", r.Query)
		}
	}
}

// TestExportUnderEveryAlternative: one item per page (so that an endpoint ignoring
// offset or limit shows), the same export under every unverified behaviour of the API:
// each item once, the holders from the roles, the former peer in.
func TestExportUnderEveryAlternative(t *testing.T) {
	for _, alt := range peerdomtest.Alternatives() {
		t.Run(alt.Name, func(t *testing.T) {
			s := seededPeerdomUnder(t, alt)
			dir := t.TempDir()
			code, stdout, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, Options{OutDir: dir, PageSize: 1, IncludeFormer: true})
			if code != 0 || !strings.Contains(stdout, "exported 14 items in 5 files") {
				t.Fatalf("exit %d: %s %s", code, stdout, stderr)
			}
			for file, want := range map[string]int{"maps.json": 1, "groups.json": 1, "roles.json": 2, "role_holders.json": 1, "peers.json": 9} {
				var items []map[string]any
				readJSON(t, filepath.Join(dir, file), &items)
				ids := map[any]bool{}
				for _, it := range items {
					ids[it["id"]] = true
				}
				if len(items) != want || (file != "role_holders.json" && len(ids) != want) {
					t.Errorf("%s: %d items (%d ids), want %d once each", file, len(items), len(ids), want)
				}
			}
			if n := len(s.Writes()); n != 0 {
				t.Errorf("export wrote %d times", n)
			}
		})
	}
}

// TestExportRefusals: where the API refuses the organization, export says why.
func TestExportRefusals(t *testing.T) {
	for _, alt := range peerdomtest.Refusals() {
		s := seededPeerdomUnder(t, alt)
		dir := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, Options{OutDir: dir, IncludeFormer: true})
		if code == 0 || !strings.Contains(stderr, "paid plan") || strings.Contains(stderr, "refused the API key") {
			t.Errorf("%s: exit %d: %s", alt.Name, code, stderr)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: the output directory was made", alt.Name)
		}
	}
}

// export hands on the API's objects as they were sent: every documented shape, unknown
// keys and nulls included.
func TestExportIsLossless(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("../../../pkg/peerdomapi/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		_ = json.Compact(&c, b)
		return c.String()
	}
	role, peer03, peer06 := read("role.json"), read("peer-0.3.json"), read("peer-0.6.0.json")
	lists := map[string]string{"/maps": `[{"id":"m1","name":"Main","draft":false}]`, "/circles": `[]`,
		"/roles": "[" + role + "]", "/peers": "[" + peer03 + "," + peer06 + "]"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, ok := lists[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("offset") != "0" {
			list = "[]"
		}
		_, _ = w.Write([]byte(list))
	}))
	defer srv.Close()
	dir := t.TempDir()
	if code, _, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": srv.URL, "PEERDOM_API_KEY": "k"}, Options{OutDir: dir, IncludeFormer: true}); code != 0 {
		t.Fatal(stderr)
	}
	var peers, roles []json.RawMessage
	readJSON(t, filepath.Join(dir, "peers.json"), &peers)
	readJSON(t, filepath.Join(dir, "roles.json"), &roles)
	if len(peers) != 2 || string(peers[0]) != peer03 || string(peers[1]) != peer06 || len(roles) != 1 || string(roles[0]) != role {
		t.Fatalf("peers %s\nroles %s", peers, roles)
	}
	var holders []map[string]any
	readJSON(t, filepath.Join(dir, "role_holders.json"), &holders)
	if len(holders) != 1 || holders[0]["roleId"] != "0b8d3e27-7f2a-4c55-8f1e-6a9d2c4b7e10" || holders[0]["contributionUnit"] != "percent" {
		t.Fatalf("holders %v", holders)
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
	code, _, stderr := runExport(t, map[string]string{"PEERDOM_API_KEY": "export-key"}, Options{Format: "csv", OutDir: dir, API: cmdutil.APIFlag{URL: s.URL}})
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
	if roles[0][10] != "holderPeerIds" || roles[1][1] != "Scribe" || roles[1][10] == "" || roles[1][11] != `Notes, "minutes"` {
		t.Fatalf("roles: %v", roles)
	}
	holders := readCSV(t, filepath.Join(dir, "role_holders.csv"))
	if len(holders) != 2 || holders[1][0] != roles[1][0] || holders[1][1] != roles[1][10] || holders[1][2] != "40" || holders[1][3] != "percent" {
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
	code, _, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "sk-wrong-key"}, Options{OutDir: dir, TTY: true, IncludeFormer: true})
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
		{map[string]string{"PEERDOM_API_KEY": "k"}, []string{"--page-size", "0"}, "--page-size must be from 1 to 100 (the API's limit), not 0"},
		{map[string]string{"PEERDOM_API_KEY": "k"}, []string{"--page-size", "101"}, "--page-size must be from 1 to 100 (the API's limit), not 101"},
		{map[string]string{"PEERDOM_API_KEY": "k"}, []string{"--page-size", "-5"}, "--page-size must be from 1 to 100"},
	} {
		code, _, stderr := runExportArgs(t, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %v: exit %d, %q", c.env, c.args, code, stderr)
		}
	}
}

func TestExportProgressOnATerminal(t *testing.T) {
	s := seededPeerdom(t)
	code, _, stderr := runExport(t, map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "export-key"}, Options{OutDir: t.TempDir(), TTY: true, IncludeFormer: true})
	if code != 0 {
		t.Fatal(stderr)
	}
	// Each resource's line is rewritten in place (\r and erase-line) and then finished.
	if !strings.Contains(stderr, "\r\033[Kpeers    1…") || !strings.Contains(stderr, "\r\033[Kpeers    9 → ") {
		t.Fatalf("stderr = %q", stderr)
	}
}

// TestCSVGuardsFormulasAndKeepsListItemsApart: a cell a spreadsheet would evaluate shows
// as text; a number stays a number; list items holding the separator split back whole.
func TestCSVGuardsFormulasAndKeepsListItemsApart(t *testing.T) {
	rows := guardFormulas([][]string{{"=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "-5", "+1.5", "a=b", ""}})
	want := []string{"'=HYPERLINK(\"http://x\")", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tx", "-5", "+1.5", "a=b", ""}
	for i := range want {
		if rows[0][i] != want[i] {
			t.Errorf("cell %d: %q, want %q", i, rows[0][i], want[i])
		}
	}
	items := []string{"Go; SQL", `back\slash`, "plain"}
	joined := joinList(items)
	if joined != `Go\; SQL; back\\slash; plain` {
		t.Errorf("joined %q", joined)
	}
	// Split back: on "; " not preceded by an escaping backslash.
	var got []string
	var cur strings.Builder
	for i := 0; i < len(joined); i++ {
		switch {
		case joined[i] == '\\' && i+1 < len(joined):
			i++
			cur.WriteByte(joined[i])
		case strings.HasPrefix(joined[i:], listSeparator):
			got = append(got, cur.String())
			cur.Reset()
			i += len(listSeparator) - 1
		default:
			cur.WriteByte(joined[i])
		}
	}
	got = append(got, cur.String())
	if !slices.Equal(got, items) {
		t.Errorf("split back %q, want %q", got, items)
	}
}
