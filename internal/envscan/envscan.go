// Package envscan finds the environment variables a Go program reads, from its source:
// the calls to a function named Getenv or LookupEnv (any case: os.Getenv, a getenv
// parameter, a Getenv field) with a constant name, in the code the program's main
// function can reach within its own module. The template test uses it to check that a
// Lambda's code reads no variable the SAM template does not set, and the reverse.
//
// A name that is not a constant is followed one step: `getenv(key)` inside a function
// whose parameter is key makes every call of that function a read of its constant
// argument. A name it still cannot tell is an error, so a read is never silently missed.
package envscan

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Read is one variable and where it is read.
type Read struct {
	Name  string
	Where []string // file:line, relative to the module root
}

// Reads scans the main package in dir (a directory inside the module rooted at root) and
// returns the variables it reads, sorted by name. Files are selected as for a
// linux/arm64 build without cgo with the lambda.norpc tag, as the Lambdas are built.
func Reads(root, dir string) ([]Read, error) {
	modPath, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	s := &scanner{root: root, modPath: modPath, fset: token.NewFileSet(), pkgs: map[string]*pkg{}}
	s.ctx = build.Default
	s.ctx.GOOS, s.ctx.GOARCH, s.ctx.CgoEnabled = "linux", "arm64", false
	s.ctx.BuildTags = []string{"lambda.norpc"}

	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("envscan: %s is not inside %s", dir, root)
	}
	mainPath := modPath
	if rel != "." {
		mainPath += "/" + filepath.ToSlash(rel)
	}
	main, err := s.load(mainPath)
	if err != nil {
		return nil, err
	}
	if main.name != "main" {
		return nil, fmt.Errorf("envscan: %s is package %s, not a main package", dir, main.name)
	}
	return s.scan(main)
}

type pkg struct {
	path   string
	name   string
	files  []*ast.File
	funcs  map[string]*ast.FuncDecl // top-level functions by name
	consts map[string]ast.Expr      // top-level constants by name (their value expression)
}

// funcKey names a top-level function.
type funcKey struct{ pkg, name string }

// forwarder is a function that reads the variable named by one of its parameters.
type forwarder struct {
	funcKey
	param int
}

type scanner struct {
	root, modPath string
	ctx           build.Context
	fset          *token.FileSet
	pkgs          map[string]*pkg
}

func modulePath(root string) (string, error) {
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New("envscan: go.mod has no module line")
}

func (s *scanner) local(path string) bool {
	return path == s.modPath || strings.HasPrefix(path, s.modPath+"/")
}

// load parses a module package and, recursively, the module packages it imports.
func (s *scanner) load(path string) (*pkg, error) {
	if p, ok := s.pkgs[path]; ok {
		return p, nil
	}
	dir := filepath.Join(s.root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(path, s.modPath), "/")))
	bp, err := s.ctx.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("envscan: %s: %w", path, err)
	}
	p := &pkg{path: path, name: bp.Name, funcs: map[string]*ast.FuncDecl{}, consts: map[string]ast.Expr{}}
	s.pkgs[path] = p
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(s.fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name != "init" {
					p.funcs[d.Name.Name] = d
				}
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							p.consts[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	for _, imp := range bp.Imports {
		if s.local(imp) {
			if _, err := s.load(imp); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// imports maps a file's import names to module package paths.
func (s *scanner) imports(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if !s.local(path) {
			continue
		}
		name := s.pkgs[path].name
		if imp.Name != nil {
			name = imp.Name.Name
		}
		m[name] = path
	}
	return m
}

// body is a piece of code that runs: a function, method, init or variable initializer.
type body struct {
	pkg  *pkg
	file *ast.File
	fn   *ast.FuncDecl // the declaration it is in, nil for a variable initializer
	node ast.Node
}

// scan finds the reads in the code main can reach. Reachable: main.main; every init
// function, package-level variable initializer and method of the packages loaded (methods
// are often called through interfaces from outside the module, so all of them count);
// and every top-level function that reachable code names.
func (s *scanner) scan(main *pkg) ([]Read, error) {
	always, funcBody := s.bodies()
	mainKey := funcKey{main.path, "main"}
	if _, ok := funcBody[mainKey]; !ok {
		return nil, fmt.Errorf("envscan: %s has no func main", main.path)
	}
	st, err := s.readsIn(s.reachable(always, funcBody, mainKey))
	if err != nil {
		return nil, err
	}
	return st.reads(), nil
}

// bodies are the code of the packages loaded: those that always run (methods, init
// functions, variable initializers) and the top-level functions, by name.
func (s *scanner) bodies() (always []body, funcBody map[funcKey]body) {
	funcBody = map[funcKey]body{}
	for _, p := range s.pkgs {
		for _, f := range p.files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Body == nil {
						continue
					}
					b := body{pkg: p, file: f, fn: d, node: d.Body}
					if d.Recv != nil || d.Name.Name == "init" {
						always = append(always, b)
					} else {
						funcBody[funcKey{p.path, d.Name.Name}] = b
					}
				case *ast.GenDecl:
					if d.Tok == token.VAR {
						always = append(always, body{pkg: p, file: f, node: d})
					}
				}
			}
		}
	}
	return always, funcBody
}

// reachable is always, then the top-level functions that main and always reach, each
// once.
func (s *scanner) reachable(always []body, funcBody map[funcKey]body, main funcKey) []body {
	reached := map[funcKey]bool{}
	var queue []funcKey
	reach := func(k funcKey) {
		if _, exists := funcBody[k]; exists && !reached[k] {
			reached[k] = true
			queue = append(queue, k)
		}
	}
	reach(main)
	var all []body
	for i := 0; i < len(always) || len(queue) > 0; {
		var b body
		if i < len(always) {
			b = always[i]
			i++
		} else {
			b = funcBody[queue[0]]
			queue = queue[1:]
		}
		all = append(all, b)
		s.references(b, reach)
	}
	return all
}

// readsIn reads all, again while it finds new forwarders, and fails on a read whose
// name it cannot tell.
func (s *scanner) readsIn(all []body) (*readState, error) {
	forwarders := map[forwarder]bool{}
	for {
		st := &readState{forwarders: forwarders, calls: map[funcKey]map[int][]argValue{}, valueRefs: map[funcKey]bool{}}
		for _, b := range all {
			s.reads(b, st)
		}
		if st.added {
			continue
		}
		if len(st.unresolved) > 0 {
			sort.Strings(st.unresolved)
			return nil, fmt.Errorf("envscan: cannot tell which variable these calls read (use a constant name): %s", strings.Join(st.unresolved, ", "))
		}
		return st, nil
	}
}

// reads are the reads found whose guards hold, by name, each with its places sorted.
func (st *readState) reads() []Read {
	reads := map[string]map[string]bool{}
	for _, r := range st.found {
		if !st.holds(r.guards) {
			continue
		}
		if reads[r.name] == nil {
			reads[r.name] = map[string]bool{}
		}
		reads[r.name][r.where] = true
	}
	out := make([]Read, 0, len(reads))
	for name, at := range reads {
		r := Read{Name: name}
		for w := range at {
			r.Where = append(r.Where, w)
		}
		sort.Strings(r.Where)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// references calls reach for each top-level module function that b names.
func (s *scanner) references(b body, reach func(funcKey)) {
	imports := s.imports(b.file)
	ast.Inspect(b.node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if path, ok := imports[x.Name]; ok {
					reach(funcKey{path, n.Sel.Name})
					return false
				}
			}
		case *ast.Ident:
			reach(funcKey{b.pkg.path, n.Name})
		}
		return true
	})
}

// guard makes a read conditional: it happens only in the case of a `switch p` on a
// parameter p of a function, so only when some call passes one of the case's values.
// This is how one dispatcher (e.g. "make the action named n") serves several Lambdas,
// each reading only its own settings.
type guard struct {
	fn        funcKey
	param     int
	values    []string // the case's values; for default, the values of the other cases
	isDefault bool
}

type argValue struct {
	value string
	known bool
}

type foundRead struct {
	name, where string
	guards      []guard
}

type readState struct {
	forwarders map[forwarder]bool
	added      bool
	found      []foundRead
	unresolved []string
	calls      map[funcKey]map[int][]argValue // each call's arguments, by callee and position
	valueRefs  map[funcKey]bool               // functions used as values: called with anything
}

// holds reports whether every guard can be met by a call seen in the reached code.
func (st *readState) holds(guards []guard) bool {
	for _, g := range guards {
		if !st.meets(g) {
			return false
		}
	}
	return true
}

func (st *readState) meets(g guard) bool {
	args := st.calls[g.fn][g.param]
	if st.valueRefs[g.fn] || len(args) == 0 {
		return true // passed around as a value, or called in a way not seen: assume any value
	}
	for _, a := range args {
		if !a.known || slices.Contains(g.values, a.value) != g.isDefault {
			return true
		}
	}
	return false
}

// reads records the variable reads in b (calls of Getenv/LookupEnv and of forwarders),
// the arguments of its calls to module functions, and new forwarders.
func (s *scanner) reads(b body, st *readState) {
	r := &bodyReads{s: s, b: b, st: st, imports: s.imports(b.file), params: paramIndex(b.fn), asCall: map[ast.Expr]bool{}}
	if b.fn != nil && b.fn.Recv == nil {
		r.self = funcKey{b.pkg.path, b.fn.Name.Name}
	}
	r.walk(b.node, nil)
}

// paramIndex is the position of each named parameter of fn (nil: none).
func paramIndex(fn *ast.FuncDecl) map[string]int {
	params := map[string]int{}
	if fn == nil || fn.Type.Params == nil {
		return params
	}
	i := 0
	for _, field := range fn.Type.Params.List {
		if len(field.Names) == 0 {
			i++
		}
		for _, n := range field.Names {
			params[n.Name] = i
			i++
		}
	}
	return params
}

// bodyReads is one body being read for reads.
type bodyReads struct {
	s       *scanner
	b       body
	st      *readState
	imports map[string]string
	params  map[string]int
	self    funcKey           // the top-level function b is, if it is one
	asCall  map[ast.Expr]bool // expressions seen as what a call calls
}

// resolve names the top-level module function an expression refers to.
func (r *bodyReads) resolve(e ast.Expr) (funcKey, bool) {
	switch e := e.(type) {
	case *ast.Ident:
		if _, ok := r.b.pkg.funcs[e.Name]; ok {
			return funcKey{r.b.pkg.path, e.Name}, true
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if path, ok := r.imports[x.Name]; ok {
				if _, ok := r.s.pkgs[path].funcs[e.Sel.Name]; ok {
					return funcKey{path, e.Sel.Name}, true
				}
			}
		}
	}
	return funcKey{}, false
}

// walk reads the code under root, whose reads happen only when guards hold.
func (r *bodyReads) walk(root ast.Node, guards []guard) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SwitchStmt:
			return !r.switchOnParam(n, guards)
		case *ast.CallExpr:
			r.call(n, guards)
		case *ast.Ident, *ast.SelectorExpr:
			if e := n.(ast.Expr); !r.asCall[e] {
				if k, ok := r.resolve(e); ok {
					r.st.valueRefs[k] = true
				}
			}
		}
		return true
	})
}

// switchOnParam walks a `switch p` on a parameter p of the function, each case with
// its guard (none when a case value is not a constant), and reports whether it did:
// other switches are walked as any code.
func (r *bodyReads) switchOnParam(n *ast.SwitchStmt, guards []guard) bool {
	tag, ok := n.Tag.(*ast.Ident)
	i, isParam := 0, false
	if ok && r.self.name != "" {
		i, isParam = r.params[tag.Name]
	}
	if !isParam {
		return false
	}
	if n.Init != nil {
		r.walk(n.Init, guards)
	}
	r.walk(n.Tag, guards)
	var all []string
	known := true
	for _, c := range n.Body.List {
		for _, v := range c.(*ast.CaseClause).List {
			cv, ok := r.s.constant(r.b.pkg, r.imports, v)
			known = known && ok
			all = append(all, cv)
		}
	}
	for _, c := range n.Body.List {
		cc := c.(*ast.CaseClause)
		g := guard{fn: r.self, param: i}
		if cc.List == nil {
			g.isDefault, g.values = true, all
		} else {
			for _, v := range cc.List {
				cv, _ := r.s.constant(r.b.pkg, r.imports, v)
				g.values = append(g.values, cv)
			}
		}
		inner := guards
		if known { // a case value that is not a constant could be anything
			inner = append(slices.Clone(guards), g)
		}
		for _, stmt := range cc.Body {
			r.walk(stmt, inner)
		}
	}
	return true
}

// call handles one call expression for reads.
func (r *bodyReads) call(call *ast.CallExpr, guards []guard) {
	s, b, st := r.s, r.b, r.st
	callee, ok := r.resolve(call.Fun)
	if ok {
		r.asCall[call.Fun] = true
		if sel, isSel := call.Fun.(*ast.SelectorExpr); isSel {
			r.asCall[sel.X] = true // the package name
		}
		if st.calls[callee] == nil {
			st.calls[callee] = map[int][]argValue{}
		}
		for i, a := range call.Args {
			v, known := s.constant(b.pkg, r.imports, a)
			st.calls[callee][i] = append(st.calls[callee][i], argValue{v, known})
		}
	}
	arg := -1
	var name string
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		name = fn.Name
	case *ast.SelectorExpr:
		name = fn.Sel.Name
	}
	if strings.EqualFold(name, "getenv") || strings.EqualFold(name, "lookupenv") {
		arg = 0
	} else if ok {
		for f := range st.forwarders {
			if f.funcKey == callee {
				arg = f.param
			}
		}
	}
	if arg < 0 || arg >= len(call.Args) {
		return
	}
	where := s.where(call.Pos())
	if v, ok := s.constant(b.pkg, r.imports, call.Args[arg]); ok {
		st.found = append(st.found, foundRead{v, where, guards})
		return
	}
	if id, ok := call.Args[arg].(*ast.Ident); ok && r.self.name != "" {
		if i, isParam := r.params[id.Name]; isParam {
			f := forwarder{r.self, i}
			if !st.forwarders[f] {
				st.forwarders[f] = true
				st.added = true
			}
			return
		}
	}
	st.unresolved = append(st.unresolved, where)
}

// constant evaluates a string constant: a literal, a constant of the package or of an
// imported module package, or a concatenation of those.
func (s *scanner) constant(p *pkg, imports map[string]string, e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		}
	case *ast.ParenExpr:
		return s.constant(p, imports, e.X)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := s.constant(p, imports, e.X)
			b, ok2 := s.constant(p, imports, e.Y)
			return a + b, ok1 && ok2
		}
	case *ast.Ident:
		if v, ok := p.consts[e.Name]; ok {
			return s.constant(p, s.importsOf(p, v), v)
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if path, ok := imports[x.Name]; ok {
				q := s.pkgs[path]
				if v, ok := q.consts[e.Sel.Name]; ok {
					return s.constant(q, s.importsOf(q, v), v)
				}
			}
		}
	}
	return "", false
}

// importsOf is the import map of the file in p that holds node n.
func (s *scanner) importsOf(p *pkg, n ast.Node) map[string]string {
	for _, f := range p.files {
		if f.Pos() <= n.Pos() && n.End() <= f.End() {
			return s.imports(f)
		}
	}
	return map[string]string{}
}

func (s *scanner) where(pos token.Pos) string {
	position := s.fset.Position(pos)
	rel, err := filepath.Rel(s.root, position.Filename)
	if err != nil {
		rel = position.Filename
	}
	return fmt.Sprintf("%s:%d", filepath.ToSlash(rel), position.Line)
}
