// Package export is `peerbridge export [--format json|csv] [--out DIR] [--api-url URL]
// [--page-size N] [--include-former=false]`: every map, circle, role, role holder and
// peer of the organization, read through the Peerdom API, into files.
package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Options are export's flags.
type Options struct {
	IO            cmdutil.IOStreams
	Getenv        func(string) string // PEERDOM_API_KEY, PEERDOM_API_URL
	TTY           bool                // stderr is a terminal: progress is redrawn in place
	API           cmdutil.APIFlag
	Format        string // json or csv
	OutDir        string
	PageSize      int
	IncludeFormer bool
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, getenv func(string) string, args []string) int {
	opts, err := Parse(ios, getenv, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, getenv func(string) string, args []string) (*Options, error) {
	opts := &Options{IO: ios, Getenv: getenv, TTY: cmdutil.IsTerminal(ios.ErrOut)}
	fs := cmdutil.NewFlagSet("export", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge export [--format json|csv] [--out DIR] [--api-url URL] [--page-size N] [--include-former=false]\n\nReads every map, circle (groups), role and peer through the Peerdom API, custom fields\nincluded, into DIR/<resource>.<format>, and the role assignments from the roles' holders\ninto DIR/role_holders.<format>. The API key comes from $PEERDOM_API_KEY.")
	})
	fs.StringVar(&opts.Format, "format", "json", "file `format`: json (the API's objects, as returned) or csv (one column per field and custom field)")
	fs.StringVar(&opts.OutDir, "out", "peerdom-export", "the `directory` to write into (created if missing)")
	opts.API.Register(fs)
	fs.IntVar(&opts.PageSize, "page-size", peerdomapi.DefaultPageSize, "items per list request, 1 to 100 (the API's limit)")
	fs.BoolVar(&opts.IncludeFormer, "include-former", true, "export former peers too (marked in the former column of peers.csv; leftAt in peers.json); --include-former=false leaves them out")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		return nil, cmdutil.Usagef(ios, "export", "unexpected argument %q", argv[0])
	}
	if opts.Format != "json" && opts.Format != "csv" {
		return nil, cmdutil.Usagef(ios, "export", "--format must be json or csv, not %q", opts.Format)
	}
	if opts.PageSize == 0 || peerdomapi.CheckPageSize(opts.PageSize) != nil {
		return nil, cmdutil.Usagef(ios, "export", "--page-size must be from 1 to %d (the API's limit), not %d", peerdomapi.MaxPageSize, opts.PageSize)
	}
	return opts, nil
}

// resource is one file of the export: how to list its items, and its CSV table.
type resource struct {
	name  string
	items func() iter.Seq2[json.RawMessage, error]
	table func([]json.RawMessage) ([][]string, error)
}

// Run reads every resource and writes its file: status 2 without an API key, 1 when
// Peerdom or a file fails (a file already written stays; none is half-written).
func Run(ctx context.Context, opts *Options) int {
	stderr := opts.IO.ErrOut
	api := opts.API.Client("export", opts.Getenv, stderr)
	if api == nil {
		return 2
	}
	plain := peerdomapi.Options{PageSize: opts.PageSize}
	withCF := peerdomapi.Options{PageSize: opts.PageSize, CustomFields: true}
	peerOpts := peerdomapi.Options{PageSize: opts.PageSize, CustomFields: true, IncludeFormer: opts.IncludeFormer}
	// The API has no list of assignments (the /holders endpoints were removed): each
	// role carries its holders, so role_holders is made from the roles just read.
	var roles []json.RawMessage
	resources := []resource{
		{"maps", func() iter.Seq2[json.RawMessage, error] { return api.Maps().ListRaw(ctx, plain) }, mapsTable},
		{"groups", func() iter.Seq2[json.RawMessage, error] { return api.Groups().ListRaw(ctx, withCF) }, groupsTable},
		{"roles", func() iter.Seq2[json.RawMessage, error] { return api.Roles().ListRaw(ctx, withCF) }, rolesTable},
		{"role_holders", func() iter.Seq2[json.RawMessage, error] { return roleHolders(roles) }, roleHoldersTable},
		{"peers", func() iter.Seq2[json.RawMessage, error] { return api.Peers().ListRaw(ctx, peerOpts) }, peersTable},
	}
	start := time.Now()
	total := 0
	for _, res := range resources {
		items, code := exportOne(opts, res)
		if code != 0 {
			return code
		}
		if res.name == "roles" {
			roles = items
		}
		total += len(items)
	}
	fmt.Fprintf(opts.IO.Out, "exported %d items in %d files to %s (%s)\n", total, len(resources), opts.OutDir, time.Since(start).Round(time.Millisecond))
	return 0
}

// exportOne reads one resource's items and writes its file; a non-zero status says it
// failed (and stderr why).
func exportOne(opts *Options, res resource) ([]json.RawMessage, int) {
	stderr := opts.IO.ErrOut
	p := &progress{w: stderr, tty: opts.TTY, name: res.name}
	var items []json.RawMessage
	for raw, err := range res.items() {
		if err != nil {
			p.abort()
			return nil, exportFailed(stderr, res.name, err)
		}
		items = append(items, raw)
		p.update(len(items))
	}
	path := filepath.Join(opts.OutDir, res.name+"."+opts.Format)
	// Created only now, so that a refused key leaves nothing behind.
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		p.abort()
		return nil, cmdutil.Fail(stderr, "export", err)
	}
	var werr error
	if opts.Format == "json" {
		werr = writeFileAtomic(path, func(w io.Writer) error { return writeJSONArray(w, items) })
	} else {
		rows, err := res.table(items)
		if err != nil {
			p.abort()
			return nil, exportFailed(stderr, res.name, err)
		}
		werr = writeFileAtomic(path, func(w io.Writer) error { return writeCSV(w, rows) })
	}
	if werr != nil {
		p.abort()
		return nil, cmdutil.Fail(stderr, "export", fmt.Errorf("writing %s: %v", path, werr))
	}
	p.done(len(items), path)
	return items, 0
}

// writeCSV writes rows, every cell a spreadsheet would read as a formula guarded.
func writeCSV(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(guardFormulas(rows)); err != nil {
		return err
	}
	return cw.Error()
}

func exportFailed(stderr io.Writer, what string, err error) int {
	if msg := cmdutil.KeyRefused("export", err); msg != "" {
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
