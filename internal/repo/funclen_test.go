package repo

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function outside tests may be, from its func line to its
// closing brace, unless its doc comment has a line starting "Long:" saying why.
const maxFuncLines = 80

// longPending are the functions over maxFuncLines, without a "Long:" line, that are
// being split in another change (file:function, with whose change it is). The list only
// shrinks: a function that is short now, or has its "Long:" line, must leave it.
var longPending = map[string]string{}

// longFunctions lists, under root, the functions of non-test Go files longer than
// maxFuncLines whose doc comment gives no reason ("Long:"), as "file:func (n lines)".
func longFunctions(root string) (map[string]int, error) {
	long := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > maxFuncLines && !saysWhyLong(fn.Doc) {
				long[filepath.ToSlash(rel)+":"+funcName(fn)] = n
			}
		}
		return nil
	})
	return long, err
}

// saysWhyLong: the doc comment has a line starting "Long:".
func saysWhyLong(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, line := range strings.Split(doc.Text(), "\n") {
		if strings.HasPrefix(line, "Long:") {
			return true
		}
	}
	return false
}

// funcName is F, or T.M for a method.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}

// TestFunctionsShort: no function outside tests is over 80 lines unless its doc comment
// says why, or it is in longPending.
func TestFunctionsShort(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	long, err := longFunctions(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range long {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		line := fmt.Sprintf("%s: %d lines", name, long[name])
		if owner, ok := longPending[name]; ok {
			t.Logf("%s (pending: %s)", line, owner)
			continue
		}
		t.Errorf("%s, over %d: split it, or say why in a doc-comment line starting \"Long:\"", line, maxFuncLines)
	}
	for name := range longPending {
		if _, ok := long[name]; !ok {
			t.Errorf("%s is in longPending but is no longer over %d lines without a reason: remove it from the list", name, maxFuncLines)
		}
	}
}

// TestLongFunctionsFound: the check finds a long function, and accepts it with its reason.
func TestLongFunctionsFound(t *testing.T) {
	dir := t.TempDir()
	body := strings.Repeat("\t_ = 1\n", maxFuncLines)
	src := "package p\n\nfunc long() {\n" + body + "}\n\n// Long: a table read top to bottom.\nfunc why() {\n" + body + "}\n\nfunc short() {}\n\ntype T struct{}\n\nfunc (*T) m() {\n" + body + "}\n"
	if err := writeFile(filepath.Join(dir, "p.go"), src); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "p_test.go"), "package p\n\nfunc testLong() {\n"+body+"}\n"); err != nil {
		t.Fatal(err)
	}
	long, err := longFunctions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(long) != 2 || long["p.go:long"] != maxFuncLines+2 || long["p.go:T.m"] != maxFuncLines+2 {
		t.Errorf("found %v, want p.go:long and p.go:T.m, %d lines each", long, maxFuncLines+2)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
