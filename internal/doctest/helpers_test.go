package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
)

func TestParseBlocks(t *testing.T) {
	src := "# t\n\n```sh serve\necho hi\n```\n\nprose\n\n1. item:\n\n   ```text\n   hi\n     indented\n   ```\n\n    indented code is not a block\n\n```\npicture\n```\n"
	got := ParseBlocks("x.md", []byte(src))
	want := []Block{
		{File: "x.md", Line: 3, Lang: "sh", Tags: []string{"serve"}, Body: "echo hi\n"},
		{File: "x.md", Line: 11, Lang: "text", Body: "hi\n  indented\n"},
		{File: "x.md", Line: 18, Lang: "", Body: "picture\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.File != w.File || g.Line != w.Line || g.Lang != w.Lang || !slices.Equal(g.Tags, w.Tags) || g.Body != w.Body {
			t.Errorf("block %d = %+v, want %+v", i, g, w)
		}
	}
	if !got[0].Has("serve") || got[0].Has("aws") {
		t.Errorf("Has: %+v", got[0])
	}
}

func TestNormalise(t *testing.T) {
	in := "20:06:12  ● Role Created  [delivery 26ff3c71]\n" +
		"  webhook endpoint  POST http://127.0.0.1:42253/webhooks/fac76be7-fa3b-44e8-b634-38afc6e0a539   \n" +
		`{"createdAt":"2026-12-07T20:06:12Z"} → 200 (2ms) (0s) (1.5µs) pid 29290 token 2949dfd0d1165273295323482e002eed34a6ea7eeff1d0ca04af02b43d612258` + "\n" +
		"/tmp/tmp.4D7aIDQCiS/state.json /home/me/cache/x\n\n"
	want := "<time>  ● Role Created  [delivery <id>]\n" +
		"  webhook endpoint  POST http://127.0.0.1:<port>/webhooks/<uuid>\n" +
		`{"createdAt":"<timestamp>"} → 200 (<duration>) (<duration>) (<duration>) pid <pid> token <hex>` + "\n" +
		"<mktemp>/state.json ~/.cache/x"
	if got := Normalise(in, "/home/me/cache", "~/.cache"); got != want {
		t.Errorf("Normalise:\n%s\nwant\n%s", got, want)
	}
	// What must not be normalised away: counts, names, status codes, the reconcile interval.
	for _, keep := range []string{"WebhooksAccepted  2", "every 1m0s", "→ 201", "baseline of 4 entities"} {
		if got := Normalise(keep); got != keep {
			t.Errorf("Normalise(%q) = %q", keep, got)
		}
	}
}

func TestInvocations(t *testing.T) {
	script := `peerbridge dlq list --queue events --json   # a comment --not-a-flag
PEERDOM_API_KEY=x peerbridge export --format=csv \
  --out dir | head
aws cloudformation describe-stacks --stack-name peerbridge --query "x"
sam delete --stack-name peerbridge
echo '{"text": "x"}' | go run ./cmd/peerbridge parse --jsonl
X=$(peerbridge status --json) && bin/peerbridge send --kind all
`
	var got []string
	for _, inv := range Invocations(script) {
		got = append(got, strings.Join(inv.Args, " ")+" :: "+strings.Join(inv.Flags, ","))
	}
	want := []string{
		"dlq list --queue events --json :: queue,json",
		"export --format=csv --out dir :: format,out",
		"parse --jsonl :: jsonl",
		"status --json :: json",
		"send --kind all :: kind",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Invocations:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHelpFlags(t *testing.T) {
	help := "usage: peerbridge x\n  -all\n    \tevery one\n  -id value\n    \tan id\n  -e, --event file\nnot -a-flag here\n"
	got := HelpFlags(help)
	for _, f := range []string{"all", "id", "e"} {
		if !got[f] {
			t.Errorf("HelpFlags misses %s: %v", f, got)
		}
	}
	if got["a-flag"] || len(got) != 3 {
		t.Errorf("HelpFlags = %v", got)
	}
}

func TestLineDiff(t *testing.T) {
	missing, extra := lineDiff("a\nb\nb\n\nc", "c\nb\na\nd\n")
	if !slices.Equal(missing, []string{"b"}) || !slices.Equal(extra, []string{"d"}) {
		t.Errorf("lineDiff: missing %q extra %q", missing, extra)
	}
	if m, e := lineDiff("x\ny", "y\n\nx"); len(m)+len(e) != 0 {
		t.Errorf("lineDiff of the same lines in another order: %q %q", m, e)
	}
}

func TestServeGoldens(t *testing.T) {
	b := ParseBlocks("x.md", []byte("```text serve\nA\n```\n```sh serve\n1\n```\n```text\nout\n```\n```text serve\nB\n```\n```sh serve\n2\n```\n```text serve\nC\n```\n"))
	// blocks: 0 text serve A, 1 sh serve, 2 text, 3 text serve B, 4 sh serve, 5 text serve C
	var first, second []string
	for _, g := range serveGoldens(b, 1) {
		first = append(first, g.Body)
	}
	for _, g := range serveGoldens(b, 4) {
		second = append(second, g.Body)
	}
	if !slices.Equal(first, []string{"A\n"}) || !slices.Equal(second, []string{"B\n", "C\n"}) {
		t.Errorf("serveGoldens: %q, %q", first, second)
	}
	if g, ok := following(b, 1); !ok || g.Body != "out\n" {
		t.Errorf("following(1) = %+v, %v", g, ok)
	}
	if _, ok := following(b, 4); ok {
		t.Error("a text serve block taken as the sh block's own output")
	}
}

func TestTableNames(t *testing.T) {
	doc := "## Parameters\n\n| p | d |\n|---|---|\n| `A` | x `NotAName` |\n| `B`, `C` | y |\n\n## Outputs\n\n| `D` | z |\n"
	got := tableNames(doc, "## Parameters")
	if len(got) != 3 || !got["A"] || !got["B"] || !got["C"] {
		t.Errorf("tableNames = %v", got)
	}
}

// pendingPages are docs/ pages other branches write; links to them are not checked until
// they exist. The integrator empties this list at merge.
var pendingPages = []string{"docs/deploy.md", "docs/peerdom-api.md", "docs/cost.md", "docs/event-patterns.md"}

var (
	linkRE     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeSpanRE = regexp.MustCompile("`[^`]*`")
)

// TestDocsLinks: every relative link of README.md and docs/*.md names a file of the
// repository, and every #anchor a heading of that file.
func TestDocsLinks(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range docFiles(t, root) {
		src, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		text := codeSpanRE.ReplaceAllString(stripFences(string(src)), "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := file
			if path != "" {
				target = filepath.ToSlash(filepath.Join(filepath.Dir(file), path))
			}
			if slices.Contains(pendingPages, target) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, target))
			if err != nil {
				t.Errorf("%s: link %s: %v", file, link, err)
				continue
			}
			if anchor != "" && !slices.Contains(anchors(string(b)), anchor) {
				t.Errorf("%s: link %s: %s has no heading with that anchor (it has %v)", file, link, target, anchors(string(b)))
			}
		}
	}
}

// stripFences removes fenced blocks, whose text is not Markdown.
func stripFences(s string) string {
	var out strings.Builder
	in := false
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "```") {
			in = !in
			continue
		}
		if !in {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}

// anchors are the GitHub anchors of a Markdown file's headings.
func anchors(s string) []string {
	var out []string
	for _, l := range strings.Split(stripFences(s), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}
