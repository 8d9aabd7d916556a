package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// runExport implements `peerbridge export [--format json|csv] [--out DIR] [--api-url URL]
// [--page-size N] [--include-former=false]`.
func runExport(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return exportMain(ctx, args, os.Getenv, stdout, stderr, isTerminal(stderr))
}

func exportMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "json", "file `format`: json (the API's objects, as returned) or csv (one column per field and custom field)")
	outDir := fs.String("out", "peerdom-export", "the `directory` to write into (created if missing)")
	var apiURL apiFlag
	apiURL.register(fs)
	pageSize := fs.Int("page-size", peerdomapi.DefaultPageSize, "items per list request, 1 to 100 (the API's limit)")
	includeFormer := fs.Bool("include-former", true, "export former peers too (marked in the former column of peers.csv; leftAt in peers.json); --include-former=false leaves them out")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge export [--format json|csv] [--out DIR] [--api-url URL] [--page-size N] [--include-former=false]\n\nReads every map, circle (groups), role and peer through the Peerdom API, custom fields\nincluded, into DIR/<resource>.<format>, and the role assignments from the roles' holders\ninto DIR/role_holders.<format>. The API key comes from $PEERDOM_API_KEY.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "peerbridge export: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *format != "json" && *format != "csv" {
		fmt.Fprintf(stderr, "peerbridge export: --format must be json or csv, not %q\n", *format)
		return 2
	}
	if *pageSize == 0 || peerdomapi.CheckPageSize(*pageSize) != nil {
		fmt.Fprintf(stderr, "peerbridge export: --page-size must be from 1 to %d (the API's limit), not %d\n", peerdomapi.MaxPageSize, *pageSize)
		return 2
	}
	api := apiURL.client("export", getenv, stderr)
	if api == nil {
		return 2
	}

	opts := peerdomapi.Options{PageSize: *pageSize}
	withCF := peerdomapi.Options{PageSize: *pageSize, CustomFields: true}
	peerOpts := peerdomapi.Options{PageSize: *pageSize, CustomFields: true, IncludeFormer: *includeFormer}
	// The API has no list of assignments (the /holders endpoints were removed): each
	// role carries its holders, so role_holders is made from the roles just read.
	var roles []json.RawMessage
	resources := []struct {
		name  string
		items func() iter.Seq2[json.RawMessage, error]
		table func([]json.RawMessage) ([][]string, error)
	}{
		{"maps", func() iter.Seq2[json.RawMessage, error] { return api.Maps().ListRaw(ctx, opts) }, mapsTable},
		{"groups", func() iter.Seq2[json.RawMessage, error] { return api.Groups().ListRaw(ctx, withCF) }, groupsTable},
		{"roles", func() iter.Seq2[json.RawMessage, error] { return api.Roles().ListRaw(ctx, withCF) }, rolesTable},
		{"role_holders", func() iter.Seq2[json.RawMessage, error] { return roleHolders(roles) }, roleHoldersTable},
		{"peers", func() iter.Seq2[json.RawMessage, error] { return api.Peers().ListRaw(ctx, peerOpts) }, peersTable},
	}
	start := time.Now()
	total := 0
	for _, res := range resources {
		p := &progress{w: stderr, tty: tty, name: res.name}
		var items []json.RawMessage
		for raw, err := range res.items() {
			if err != nil {
				p.abort()
				return exportFailed(stderr, res.name, err)
			}
			items = append(items, raw)
			p.update(len(items))
		}
		if res.name == "roles" {
			roles = items
		}
		path := filepath.Join(*outDir, res.name+"."+*format)
		// Created only now, so that a refused key leaves nothing behind.
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			p.abort()
			fmt.Fprintf(stderr, "peerbridge export: %v\n", err)
			return 1
		}
		var werr error
		if *format == "json" {
			werr = writeFileAtomic(path, func(w io.Writer) error { return writeJSONArray(w, items) })
		} else {
			rows, err := res.table(items)
			if err != nil {
				p.abort()
				return exportFailed(stderr, res.name, err)
			}
			werr = writeFileAtomic(path, func(w io.Writer) error {
				cw := csv.NewWriter(w)
				if err := cw.WriteAll(guardFormulas(rows)); err != nil {
					return err
				}
				return cw.Error()
			})
		}
		if werr != nil {
			p.abort()
			fmt.Fprintf(stderr, "peerbridge export: writing %s: %v\n", path, werr)
			return 1
		}
		p.done(len(items), path)
		total += len(items)
	}
	fmt.Fprintf(stdout, "exported %d items in %d files to %s (%s)\n", total, len(resources), *outDir, time.Since(start).Round(time.Millisecond))
	return 0
}

func exportFailed(stderr io.Writer, what string, err error) int {
	if msg := keyRefused("export", err); msg != "" {
		fmt.Fprintln(stderr, msg)
		return 1
	}
	fmt.Fprintf(stderr, "peerbridge export: reading %s: %v\n", what, err)
	return 1
}

// progress shows one line per resource on stderr: updated in place on a terminal, printed
// once when done otherwise (so logs and CI output stay clean).
type progress struct {
	w     io.Writer
	tty   bool
	name  string
	last  time.Time
	shown bool
}

func (p *progress) update(n int) {
	if !p.tty || (time.Since(p.last) < 100*time.Millisecond && n%100 != 0) {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[K%-8s %d…", p.name, n)
}

func (p *progress) done(n int, path string) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%-8s %d → %s\n", p.name, n, path)
}

func (p *progress) abort() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeFileAtomic writes through a temporary file and renames it into place, so a failed
// export never leaves a half-written file that looks complete.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeJSONArray writes the API's objects as they came (compacted), one per line.
func writeJSONArray(w io.Writer, items []json.RawMessage) error {
	var b bytes.Buffer
	b.WriteString("[")
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		if err := json.Compact(&b, it); err != nil {
			return fmt.Errorf("item %d is not valid JSON: %v", i, err)
		}
	}
	if len(items) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}

// ---- CSV tables: fixed columns, then one "cf:<name>" column per custom field seen ----

func decodeAll[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, len(items))
	for i, raw := range items {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("item %d is not the expected JSON: %v", i, err)
		}
	}
	return out, nil
}

func customFieldNames(all ...[]peerdomapi.CustomField) []string {
	seen := map[string]bool{}
	var names []string
	for _, cfs := range all {
		for _, f := range cfs {
			if !seen[f.Name] {
				seen[f.Name] = true
				names = append(names, f.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}

func customFieldCells(cfs []peerdomapi.CustomField, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		for _, f := range cfs {
			if f.Name == n {
				out[i] = joinList(f.Values)
			}
		}
	}
	return out
}

func cfHeader(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "cf:" + n
	}
	return out
}

func num(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func boolp(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

func mapsTable(items []json.RawMessage) ([][]string, error) {
	ms, err := decodeAll[peerdomapi.Map](items)
	if err != nil {
		return nil, err
	}
	rows := [][]string{{"id", "name", "draft"}}
	for _, m := range ms {
		rows = append(rows, []string{m.ID, m.Name, strconv.FormatBool(m.Draft)})
	}
	return rows, nil
}

func groupsTable(items []json.RawMessage) ([][]string, error) {
	gs, err := decodeAll[peerdomapi.Group](items)
	if err != nil {
		return nil, err
	}
	var cfs [][]peerdomapi.CustomField
	for _, g := range gs {
		cfs = append(cfs, g.CustomFields)
	}
	names := customFieldNames(cfs...)
	rows := [][]string{append([]string{"id", "name", "parentId", "color", "shape", "slug", "external", "electable", "groupEmail", "createdAt"}, cfHeader(names)...)}
	for _, g := range gs {
		rows = append(rows, append([]string{g.ID, g.Name, g.ParentID, g.Color, g.Shape, g.Slug, boolp(g.External), boolp(g.Electable), g.GroupEmail, g.CreatedAt},
			customFieldCells(g.CustomFields, names)...))
	}
	return rows, nil
}

func rolesTable(items []json.RawMessage) ([][]string, error) {
	rs, err := decodeAll[peerdomapi.Role](items)
	if err != nil {
		return nil, err
	}
	var cfs [][]peerdomapi.CustomField
	for _, r := range rs {
		cfs = append(cfs, r.CustomFields)
	}
	names := customFieldNames(cfs...)
	rows := [][]string{append([]string{"id", "name", "parentId", "color", "shape", "slug", "external", "electable", "groupEmail", "createdAt", "holderPeerIds"}, cfHeader(names)...)}
	for _, r := range rs {
		var holders []string
		for _, h := range r.Holders {
			holders = append(holders, h.PeerID)
		}
		rows = append(rows, append([]string{r.ID, r.Name, r.ParentID, r.Color, r.Shape, r.Slug, boolp(r.External), boolp(r.Electable), r.GroupEmail, r.CreatedAt, joinList(holders)},
			customFieldCells(r.CustomFields, names)...))
	}
	return rows, nil
}

func peersTable(items []json.RawMessage) ([][]string, error) {
	ps, err := decodeAll[peerdomapi.Peer](items)
	if err != nil {
		return nil, err
	}
	var cfs [][]peerdomapi.CustomField
	for _, p := range ps {
		cfs = append(cfs, p.CustomFields)
	}
	names := customFieldNames(cfs...)
	rows := [][]string{append([]string{"id", "firstName", "lastName", "nickName", "slug", "birthdate", "contribution", "contributionUnit", "avatarUrl", "joinedAt", "leftAt", "former"}, cfHeader(names)...)}
	now := time.Now()
	for _, p := range ps {
		rows = append(rows, append([]string{p.ID, p.FirstName, p.LastName, p.NickName, p.Slug, p.Birthdate, num(p.Contribution), p.ContributionUnit, p.AvatarURL,
			p.JoinedAt, p.LeftAt, strconv.FormatBool(p.Former(now))},
			customFieldCells(p.CustomFields, names)...))
	}
	return rows, nil
}

// roleHolders yields one object per holder of each role: the holder as the API sent it,
// with the role's id added as roleId.
func roleHolders(roles []json.RawMessage) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		for i, raw := range roles {
			var role struct {
				ID      string                       `json:"id"`
				Holders []map[string]json.RawMessage `json:"holders"`
			}
			if err := json.Unmarshal(raw, &role); err != nil {
				yield(nil, fmt.Errorf("role %d: the holders are not the expected JSON: %v", i, err))
				return
			}
			for _, h := range role.Holders {
				id, _ := json.Marshal(role.ID)
				h["roleId"] = id
				b, err := json.Marshal(h)
				if !yield(b, err) || err != nil {
					return
				}
			}
		}
	}
}

func roleHoldersTable(items []json.RawMessage) ([][]string, error) {
	type holder struct {
		peerdomapi.RoleHolder
		RoleID string `json:"roleId"`
	}
	hs, err := decodeAll[holder](items)
	if err != nil {
		return nil, err
	}
	rows := [][]string{{"roleId", "peerId", "contribution", "contributionUnit"}}
	for _, h := range hs {
		rows = append(rows, []string{h.RoleID, h.PeerID, num(h.Contribution), h.ContributionUnit})
	}
	return rows, nil
}

// listSeparator joins a list's items in one CSV cell.
const listSeparator = "; "

// joinList joins items with listSeparator so that they can be told apart again: a
// backslash or a ";" inside an item is escaped with a backslash ("a;b" → "a\;b").
func joinList(items []string) string {
	escaped := make([]string, len(items))
	for i, it := range items {
		escaped[i] = strings.NewReplacer(`\`, `\\`, ";", `\;`).Replace(it)
	}
	return strings.Join(escaped, listSeparator)
}

// guardFormulas makes every cell a spreadsheet would read as a formula — one starting
// with =, +, -, @, a tab or a carriage return — show as text, by prefixing a single quote
// (OWASP's advice against CSV injection: Peerdom's fields are written by every member).
// A plain number ("-5", "+1.5") is no formula and is kept.
func guardFormulas(rows [][]string) [][]string {
	for _, row := range rows {
		for i, cell := range row {
			if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				continue
			}
			if _, err := strconv.ParseFloat(cell, 64); err == nil {
				continue
			}
			row[i] = "'" + cell
		}
	}
	return rows
}
