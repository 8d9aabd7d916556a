// Package publicapi checks that a module's public packages (pkg/) stand alone: every
// exported name's type — a function's parameters and results, a struct's exported
// fields, an interface's methods, an exported type's exported methods, an alias's target
// — uses only the module's pkg/ packages, the standard library and AWS's packages, which a
// user's own module can import. A type from the module's internal/ (or any other
// module) is a problem: the user could neither name it nor implement it.
package publicapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Check lists the problems of the packages matched by patterns (e.g. "./pkg/...") in the
// module at dir, one line each: "<package>: <name>: <type>", sorted.
func Check(dir string, patterns ...string) ([]string, error) {
	mod, err := goCmd(dir, "list", "-m")
	if err != nil {
		return nil, err
	}
	module := strings.TrimSpace(string(mod))
	out, err := goCmd(dir, append([]string{"list", "-export", "-deps", "-json=ImportPath,Export,DepOnly"}, patterns...)...)
	if err != nil {
		return nil, err
	}
	exports := map[string]string{}
	var targets []string
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct {
			ImportPath, Export string
			DepOnly            bool
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly {
			targets = append(targets, p.ImportPath)
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	c := checker{module: module}
	for _, path := range targets {
		pkg, err := imp.Import(path)
		if err != nil {
			return nil, err
		}
		c.pkg = strings.TrimPrefix(path, module+"/")
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if !obj.Exported() {
				continue
			}
			c.walk(name, obj.Type(), map[types.Type]bool{})
			if tn, ok := obj.(*types.TypeName); ok && !tn.IsAlias() {
				for _, t := range []types.Type{obj.Type(), types.NewPointer(obj.Type())} {
					ms := types.NewMethodSet(t)
					for i := range ms.Len() {
						if m := ms.At(i).Obj(); m.Exported() {
							c.walk(name+"."+m.Name(), m.Type(), map[types.Type]bool{})
						}
					}
				}
			}
		}
	}
	sort.Strings(c.problems)
	return slicesCompact(c.problems), nil
}

type checker struct {
	module, pkg string
	problems    []string
}

// allowed reports whether a package may appear in the public API.
func (c *checker) allowed(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") || // the standard library
		strings.HasPrefix(path, "github.com/aws/") && !strings.Contains(path, "/internal/") ||
		strings.HasPrefix(path, c.module+"/pkg/")
}

func (c *checker) walk(name string, t types.Type, seen map[types.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		if p := t.Obj().Pkg(); p != nil && !c.allowed(p.Path()) {
			c.problems = append(c.problems, fmt.Sprintf("%s: %s: %s", c.pkg, name, t))
		}
		c.walk(name, types.Unalias(t), seen)
	case *types.Named:
		if p := t.Obj().Pkg(); p != nil && !c.allowed(p.Path()) {
			c.problems = append(c.problems, fmt.Sprintf("%s: %s: %s", c.pkg, name, t))
			return
		}
		for i := range t.TypeArgs().Len() {
			c.walk(name, t.TypeArgs().At(i), seen)
		}
		// A type of this package is walked on its own (its fields, its methods); one of
		// another allowed package is that package's API.
		if p := t.Obj().Pkg(); p != nil && strings.TrimPrefix(p.Path(), c.module+"/") == c.pkg {
			c.walk(name, t.Underlying(), seen)
		}
	case *types.Pointer:
		c.walk(name, t.Elem(), seen)
	case *types.Slice:
		c.walk(name, t.Elem(), seen)
	case *types.Array:
		c.walk(name, t.Elem(), seen)
	case *types.Chan:
		c.walk(name, t.Elem(), seen)
	case *types.Map:
		c.walk(name, t.Key(), seen)
		c.walk(name, t.Elem(), seen)
	case *types.Signature:
		for _, tuple := range []*types.Tuple{t.Params(), t.Results()} {
			for i := range tuple.Len() {
				c.walk(name, tuple.At(i).Type(), seen)
			}
		}
	case *types.Struct:
		for i := range t.NumFields() {
			if f := t.Field(i); f.Exported() {
				c.walk(name+"."+f.Name(), f.Type(), seen)
			}
		}
	case *types.Interface:
		for i := range t.NumMethods() {
			if m := t.Method(i); m.Exported() {
				c.walk(name+"."+m.Name(), m.Type(), seen)
			}
		}
	case *types.TypeParam:
		c.walk(name, t.Constraint(), seen)
	}
}

func slicesCompact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}
