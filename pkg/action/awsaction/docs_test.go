package awsaction_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
)

// docsAction is the Go block of docs/actions.md's "Write your own action".
func docsAction(t *testing.T, root string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "actions.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Write your own action\n")
	if !ok {
		t.Fatal(`docs/actions.md has no "## Write your own action"`)
	}
	_, code, ok := strings.Cut(section, "```go\n")
	code, _, ok2 := strings.Cut(code, "```\n")
	if !ok || !ok2 {
		t.Fatal("the section has no ```go block")
	}
	return []byte(code)
}

// funcSource is the text of the top-level function name in src, its doc comment left out.
func funcSource(t *testing.T, file string, src []byte, name string) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == name {
			return string(src[fset.Position(fn.Pos()).Offset:fset.Position(fn.End()).Offset])
		}
	}
	t.Fatalf("%s has no func %s", file, name)
	return ""
}

// TestDocsActionIsTheTestedOne: docs/actions.md's main.go compiles in this module, and its
// handler is, character for character, the one Example_tagCircle runs.
func TestDocsActionIsTheTestedOne(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	code := docsAction(t, root)
	tested, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := funcSource(t, "docs/actions.md", code, "tagCircle"), funcSource(t, "example_test.go", tested, "tagCircle"); got != want {
		t.Fatalf("docs/actions.md's tagCircle differs from example_test.go's:\n--- docs/actions.md\n%s\n--- example_test.go\n%s", got, want)
	}

	// Compiled as functions/actions/tag-circle/main.go would be, without writing into the
	// repository: an overlay adds the file to the build.
	tmp := t.TempDir()
	mainGo := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(mainGo, code, 0o644); err != nil {
		t.Fatal(err)
	}
	pkgDir := filepath.Join(root, "functions", "actions", "tag-circle-docs-check")
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(pkgDir, "main.go"): mainGo}})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", overlayFile, "-o", filepath.Join(tmp, "bootstrap"), "./functions/actions/tag-circle-docs-check")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("docs/actions.md's main.go does not build: %v\n%s", err, out.String())
	}
}
