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

// readmeAction is the Go block of README.md's "Write your own action".
func readmeAction(t *testing.T, root string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### Write your own action")
	if !ok {
		t.Fatal(`README.md has no "### Write your own action"`)
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

// TestReadmeActionIsTheTestedOne: the README's main.go compiles in this module, and its
// handler is, character for character, the one Example_tagCircle runs.
func TestReadmeActionIsTheTestedOne(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	code := readmeAction(t, root)
	tested, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := funcSource(t, "README.md", code, "tagCircle"), funcSource(t, "example_test.go", tested, "tagCircle"); got != want {
		t.Fatalf("README.md's tagCircle differs from example_test.go's:\n--- README\n%s\n--- example_test.go\n%s", got, want)
	}

	// Compiled as functions/actions/tag-circle/main.go would be, without writing into the
	// repository: an overlay adds the file to the build.
	tmp := t.TempDir()
	mainGo := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(mainGo, code, 0o644); err != nil {
		t.Fatal(err)
	}
	pkgDir := filepath.Join(root, "functions", "actions", "tag-circle-readme-check")
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(pkgDir, "main.go"): mainGo}})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", overlayFile, "-o", filepath.Join(tmp, "bootstrap"), "./functions/actions/tag-circle-readme-check")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("README.md's main.go does not build: %v\n%s", err, out.String())
	}
}
