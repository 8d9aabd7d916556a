// Package doctor finds out how an organization's Peerdom API behaves where the
// published evidence leaves it open, and whether peerbridge works against it: the logic
// of `peerbridge doctor`. Read-only by default; with Write it also makes a scratch role
// and peer, learns what writes do, and removes them again.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Status is a check's verdict.
type Status string

const (
	OK   Status = "ok"   // as peerbridge expects
	Note Status = "note" // a behaviour peerbridge handles; worth knowing
	Warn Status = "warn" // peerbridge works, but something should be changed (e.g. the URL)
	Fail Status = "fail" // peerbridge would not work
	Skip Status = "skip" // could not be checked (e.g. no role to read)
)

// Check is one thing found out.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Found  string `json:"found"`
}

// Report is a doctor run.
type Report struct {
	BaseURL string  `json:"baseUrl"`
	Write   bool    `json:"write"`
	Checks  []Check `json:"checks"`
	// Works is false when a check failed: peerbridge would not work against this API.
	Works bool `json:"works"`
}

// Find returns the check with this name.
func (r Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Options of a run.
type Options struct {
	// Write makes a scratch role and peer to learn what writes do, and removes them.
	Write bool
	// Now names the scratch entities (default time.Now).
	Now func() time.Time
}

// doctor is one run's state.
type doctor struct {
	api     *peerdomapi.Client
	opts    Options
	rep     Report
	headers map[string]bool // rate-limit headers seen
	circles string          // the path circles answered at
	liveMap string
	root    string
	roles   []map[string]json.RawMessage
	peers   []map[string]json.RawMessage
}

// Run checks the API the client points at.
func Run(ctx context.Context, api *peerdomapi.Client, opts Options) Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &doctor{api: api, opts: opts, headers: map[string]bool{}}
	d.rep.Write = opts.Write
	if d.access(ctx) {
		d.base()
		d.maps(ctx)
		d.circlePaths(ctx)
		d.paging(ctx)
		d.readRoles(ctx)
		d.formerPeers(ctx)
		d.customFields()
		d.builtins()
		if opts.Write {
			d.write(ctx)
		}
		d.rateLimit()
	}
	d.rep.BaseURL = api.BaseURL()
	d.rep.Works = true
	for _, c := range d.rep.Checks {
		if c.Status == Fail {
			d.rep.Works = false
		}
	}
	return d.rep
}

func (d *doctor) add(name string, st Status, format string, args ...any) {
	d.rep.Checks = append(d.rep.Checks, Check{Name: name, Status: st, Found: fmt.Sprintf(format, args...)})
}

// get probes a GET and notes the rate-limit headers of its answer.
func (d *doctor) get(ctx context.Context, path string, q url.Values) (peerdomapi.Answer, error) {
	a, err := d.api.Probe(ctx, http.MethodGet, path, q, nil)
	d.seeHeaders(a.Header)
	return a, err
}

func (d *doctor) call(ctx context.Context, method, path string, body any) (peerdomapi.Answer, error) {
	a, err := d.api.Probe(ctx, method, path, nil, body)
	d.seeHeaders(a.Header)
	return a, err
}

func (d *doctor) seeHeaders(h http.Header) {
	for k := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "ratelimit") || strings.Contains(lk, "rate-limit") || lk == "retry-after" {
			d.headers[k] = true
		}
	}
}

// list reads a list without limit and offset, as Peerdom's own client does.
func (d *doctor) list(ctx context.Context, path string, q url.Values) ([]map[string]json.RawMessage, int, error) {
	a, err := d.get(ctx, path, q)
	if err != nil {
		return nil, a.Status, err
	}
	if a.Status != http.StatusOK {
		return nil, a.Status, fmt.Errorf("%d %s%s", a.Status, http.StatusText(a.Status), message(a.Body))
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(a.Body, &items); err != nil {
		return nil, a.Status, fmt.Errorf("not a JSON array: %.80s", a.Body)
	}
	return items, a.Status, nil
}

func message(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return ": " + m.Message
	}
	return ""
}

// access: the key, the plan, where the API answers.
func (d *doctor) access(ctx context.Context) bool {
	a, err := d.get(ctx, "/maps", url.Values{"limit": {"1"}, "offset": {"0"}})
	var apiErr *peerdomapi.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 300 && apiErr.StatusCode < 400:
		d.add("base URL", Fail, "%s", apiErr.Hint())
		return false
	case err != nil:
		d.add("base URL", Fail, "%v", err)
		return false
	case a.Status == http.StatusUnauthorized:
		d.add("key", Fail, "refused (401%s): check PEERDOM_API_KEY; only Owners create keys, in Settings > My Data > API Keys", message(a.Body))
		return false
	case a.Status == http.StatusForbidden:
		d.add("key", OK, "known (not 401)")
		d.add("plan", Fail, "403%s: the organization may not use the API; it needs a paid plan or a trial", message(a.Body))
		return false
	case a.Status == http.StatusNotFound:
		d.add("base URL", Fail, "GET /maps is a 404: %s is not Peerdom's API (Peerdom's is %s)", d.api.BaseURL(), peerdomapi.DefaultBaseURL)
		return false
	case a.Status != http.StatusOK:
		d.add("key", Fail, "GET /maps answered %d %s%s", a.Status, http.StatusText(a.Status), message(a.Body))
		return false
	}
	d.add("key", OK, "accepted")
	d.add("plan", OK, "API access (no 403)")
	return true
}

func (d *doctor) base() {
	if moved := d.api.Redirected(); moved != "" {
		d.add("base URL", Warn, "redirected to %s (followed): set PeerdomApiUrl (PEERDOM_API_URL, --api-url) to it", moved)
		return
	}
	d.add("base URL", OK, "%s answers", d.api.BaseURL())
}

func (d *doctor) maps(ctx context.Context) {
	items, _, err := d.list(ctx, "/maps", nil)
	if err != nil {
		d.add("maps", Fail, "GET /maps: %v", err)
		return
	}
	var live, draftKey int
	for _, m := range items {
		if raw, ok := m["draft"]; ok {
			draftKey++
			if string(raw) == "false" {
				live++
				if d.liveMap == "" {
					d.liveMap = str(m["id"])
				}
			}
		}
	}
	switch {
	case len(items) == 0:
		d.add("maps", Warn, "no map: roles cannot be created")
	case draftKey < len(items):
		d.add("maps", Note, "%d map(s), %d without a draft key", len(items), len(items)-draftKey)
		if d.liveMap == "" {
			d.liveMap = str(items[0]["id"])
		}
	default:
		d.add("maps", OK, "%d map(s), %d live (draft: false)", len(items), live)
	}
}

// circlePaths: /circles (Peerdom's client) or /groups (Pipedream's app).
func (d *doctor) circlePaths(ctx context.Context) {
	q := url.Values{"limit": {"1"}, "offset": {"0"}}
	status := map[string]int{}
	for _, p := range []string{"/circles", "/groups"} {
		a, err := d.get(ctx, p, q)
		if err != nil {
			status[p] = -1
			continue
		}
		status[p] = a.Status
	}
	c, g := status["/circles"] == http.StatusOK, status["/groups"] == http.StatusOK
	switch {
	case c && g:
		d.circles = "/circles"
		d.add("circles path", OK, "/circles, and GET /groups lists them too")
	case c:
		d.circles = "/circles"
		d.add("circles path", Note, "/circles only (GET /groups: %d)", status["/groups"])
	case g:
		d.circles = "/groups"
		d.add("circles path", Note, "/groups only (GET /circles: %d): peerbridge falls back to it", status["/circles"])
	default:
		d.add("circles path", Fail, "neither GET /circles (%d) nor GET /groups (%d) answers", status["/circles"], status["/groups"])
		return
	}
	items, _, err := d.list(ctx, d.circles, nil)
	if err != nil {
		d.add("root circle", Skip, "GET %s: %v", d.circles, err)
		return
	}
	var roots []string
	for _, it := range items {
		if isNullOrAbsent(it["parentId"]) {
			roots = append(roots, str(it["name"]))
			if d.root == "" {
				d.root = str(it["id"])
			}
		}
	}
	switch len(roots) {
	case 0:
		d.add("root circle", Note, "none of %d circles is without parentId", len(items))
	case 1:
		d.add("root circle", OK, "%q (no parentId)", roots[0])
	default:
		d.add("root circle", Note, "%d circles without parentId: %s", len(roots), strings.Join(roots, ", "))
	}
}

// paging: how each list treats limit and offset.
func (d *doctor) paging(ctx context.Context) {
	paths := []string{"/peers", "/roles", "/maps"}
	if d.circles != "" {
		paths = append(paths, d.circles)
	}
	for _, p := range paths {
		d.pagingOf(ctx, p)
	}
}

func (d *doctor) pagingOf(ctx context.Context, path string) {
	name := "paging " + path
	all, _, err := d.list(ctx, path, nil)
	if err != nil {
		d.add(name, Fail, "GET %s: %v", path, err)
		return
	}
	if len(all) < 2 {
		d.add(name, Skip, "%d item(s) without a limit: too few to tell", len(all))
		return
	}
	page := func(limit, offset int) ([]map[string]json.RawMessage, error) {
		items, _, err := d.list(ctx, path, url.Values{"limit": {fmt.Sprint(limit)}, "offset": {fmt.Sprint(offset)}})
		return items, err
	}
	first, err := page(1, 0)
	if err != nil {
		d.add(name, Fail, "limit=1: %v", err)
		return
	}
	if len(first) > 1 {
		d.add(name, Note, "limit and offset ignored: every request answers the whole list (%d items); peerbridge reads it once", len(first))
		return
	}
	second, err := page(1, 1)
	if err != nil {
		d.add(name, Fail, "limit=1&offset=1: %v", err)
		return
	}
	if len(first) == 1 && len(second) == 1 && str(first[0]["id"]) == str(second[0]["id"]) {
		d.add(name, Note, "offset ignored, limit honoured: peerbridge reads the list without a limit (%d items)", len(all))
		return
	}
	full, err := page(peerdomapi.MaxPageSize, 0)
	if err != nil {
		d.add(name, Fail, "limit=%d: %v", peerdomapi.MaxPageSize, err)
		return
	}
	if want := min(len(all), peerdomapi.MaxPageSize); len(full) < want {
		d.add(name, Fail, "pages capped at %d below the limit of %d asked: peerbridge takes a short page for the last one and would miss items", len(full), peerdomapi.MaxPageSize)
		return
	}
	d.add(name, OK, "limit and offset honoured (%d items)", len(all))
}

// readRoles: whether a role's read carries its holders, and a peer's its roles.
func (d *doctor) readRoles(ctx context.Context) {
	roles, _, err := d.list(ctx, "/roles", url.Values{"with": {"customfields"}})
	if err != nil {
		d.add("role holders", Skip, "GET /roles: %v", err)
		return
	}
	d.roles = roles
	_, listHolders := first(roles)["holders"]
	if len(roles) == 0 {
		d.add("role holders", Skip, "no role to read")
	} else {
		a, err := d.get(ctx, "/roles/"+url.PathEscape(str(roles[0]["id"])), nil)
		var one map[string]json.RawMessage
		if err == nil {
			_ = json.Unmarshal(a.Body, &one)
		}
		_, oneHolders := one["holders"]
		switch {
		case err != nil || a.Status != http.StatusOK:
			d.add("role holders", Fail, "GET /roles/{id} answered %d", a.Status)
		case oneHolders:
			d.add("role holders", OK, "a role's read carries holders (the list: %s)", yesNo(listHolders))
		default:
			d.add("role holders", Note, "a role's read carries no holders (the list: %s): onboard-peer reads the peer's roles (with=roles) instead", yesNo(listHolders))
		}
		if !listHolders {
			d.add("holders in lists", Warn, "GET /roles carries no holders: reconcile and export cannot see assignments")
		}
	}
	peers, _, err := d.list(ctx, "/peers", url.Values{"with": {"customfields"}, "includeFormer": {"true"}})
	if err != nil {
		d.add("peer roles", Skip, "GET /peers: %v", err)
		return
	}
	d.peers = peers
	if len(peers) == 0 {
		d.add("peer roles", Skip, "no peer to read")
		return
	}
	a, err := d.get(ctx, "/peers/"+url.PathEscape(str(peers[0]["id"])), url.Values{"with": {"roles"}})
	var one map[string]json.RawMessage
	if err == nil {
		_ = json.Unmarshal(a.Body, &one)
	}
	if _, ok := one["roles"]; ok {
		d.add("peer roles", OK, "a peer's read with=roles carries its roles")
		return
	}
	st := Note
	if c, _ := d.rep.Find("role holders"); c.Status == Note {
		st = Fail // neither way: onboard-peer cannot tell who holds a role
	}
	d.add("peer roles", st, "a peer's read with=roles carries no roles")
}

// formerPeers: includeFormer and leftAt.
func (d *doctor) formerPeers(ctx context.Context) {
	active, _, err := d.list(ctx, "/peers", nil)
	if err != nil || d.peers == nil {
		d.add("former peers", Skip, "GET /peers: %v", err)
		return
	}
	left := 0
	for _, p := range d.peers {
		if !isNullOrAbsent(p["leftAt"]) {
			left++
		}
	}
	switch {
	case len(d.peers) > len(active):
		d.add("former peers", OK, "%d active; includeFormer=true adds %d (%d with leftAt)", len(active), len(d.peers)-len(active), left)
	case left > 0:
		d.add("former peers", Note, "%d peers with leftAt listed without includeFormer", left)
	default:
		d.add("former peers", Note, "%d peer(s); none former (includeFormer=true adds nothing)", len(active))
	}
}

// fieldInfo is a custom field's definition as seen on the entities.
type fieldInfo struct {
	entity, name, typ string
	multi, nonText    bool
}

func (d *doctor) fields() []fieldInfo {
	seen := map[string]*fieldInfo{}
	var order []string
	scan := func(entity string, items []map[string]json.RawMessage) {
		for _, it := range items {
			var cfs []struct {
				Name       string            `json:"name"`
				Values     []json.RawMessage `json:"values"`
				Definition struct {
					Type       string `json:"type"`
					MultiEntry bool   `json:"multiEntry"`
				} `json:"definition"`
			}
			_ = json.Unmarshal(it["customFields"], &cfs)
			for _, f := range cfs {
				k := entity + "\x00" + f.Name
				fi := seen[k]
				if fi == nil {
					fi = &fieldInfo{entity: entity, name: f.Name}
					seen[k] = fi
					order = append(order, k)
				}
				if f.Definition.Type != "" {
					fi.typ = f.Definition.Type
				}
				fi.multi = fi.multi || f.Definition.MultiEntry
				for _, v := range f.Values {
					if len(v) > 0 && v[0] != '"' && string(v) != "null" {
						fi.nonText = true
					}
				}
			}
		}
	}
	scan("role", d.roles)
	scan("peer", d.peers)
	out := make([]fieldInfo, 0, len(order))
	for _, k := range order {
		out = append(out, *seen[k])
	}
	return out
}

func (d *doctor) customFields() {
	fields := d.fields()
	if len(fields) == 0 {
		d.add("custom fields", Skip, "none seen on roles or peers")
		return
	}
	var parts []string
	typed := 0
	for _, f := range fields {
		desc := f.entity + " " + f.name
		var attrs []string
		if f.typ != "" {
			attrs = append(attrs, f.typ)
			typed++
		}
		if f.multi {
			attrs = append(attrs, "multi-entry")
		}
		if f.nonText {
			attrs = append(attrs, "non-text values")
		}
		if len(attrs) > 0 {
			desc += " (" + strings.Join(attrs, ", ") + ")"
		}
		parts = append(parts, desc)
	}
	sort.Strings(parts)
	st := OK
	if typed > 0 {
		st = Note
	}
	d.add("custom fields", st, "%d with a definition type: %s", typed, strings.Join(parts, "; "))
}

func (d *doctor) builtins() {
	attr, inCF := 0, 0
	for _, r := range d.roles {
		if _, ok := r["purpose"]; ok {
			attr++
		}
		var cfs []struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(r["customFields"], &cfs)
		for _, f := range cfs {
			if _, ok := peerdomapi.BuiltinKey(f.Name); ok {
				inCF++
				break
			}
		}
	}
	switch {
	case len(d.roles) == 0:
		d.add("built-in fields", Skip, "no role to read")
	case attr > 0:
		d.add("built-in fields", Note, "Purpose, Accountabilities, Notes as attributes of their own (purpose, …) on %d of %d roles", attr, len(d.roles))
	case inCF > 0:
		d.add("built-in fields", OK, "inside customFields on %d of %d roles", inCF, len(d.roles))
	default:
		d.add("built-in fields", Skip, "no role shows Purpose either way")
	}
}

func (d *doctor) rateLimit() {
	if len(d.headers) == 0 {
		d.add("rate limit", Note, "no rate-limit header seen (429 is retried after 1, 2, 4 s, or Retry-After)")
		return
	}
	names := make([]string, 0, len(d.headers))
	for k := range d.headers {
		names = append(names, k)
	}
	slices.Sort(names)
	d.add("rate limit", Note, "headers: %s", strings.Join(names, ", "))
}

// Print writes the report as a table a person can paste into a bug report.
func Print(w io.Writer, rep Report) {
	mode := "read-only"
	if rep.Write {
		mode = "with --write"
	}
	fmt.Fprintf(w, "peerbridge doctor: %s (%s)\n\n", rep.BaseURL, mode)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tFOUND")
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Found)
	}
	_ = tw.Flush()
	if rep.Works {
		fmt.Fprintln(w, "\npeerbridge works against this API.")
	} else {
		fmt.Fprintln(w, "\npeerbridge would NOT work against this API: see the failed checks.")
	}
}

func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

func isNullOrAbsent(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null" || s == `""`
}

func first(items []map[string]json.RawMessage) map[string]json.RawMessage {
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// bodyKind describes an answer's body: JSON (what kind), empty, or text.
func bodyKind(a peerdomapi.Answer) string {
	b := strings.TrimSpace(string(a.Body))
	switch {
	case b == "":
		return fmt.Sprintf("%d, empty body", a.Status)
	case json.Valid([]byte(b)):
		kind := "JSON"
		switch b[0] {
		case '{':
			kind = "a JSON object"
			if b == "{}" {
				kind = "{}"
			}
		case '[':
			kind = "a JSON array"
		}
		return fmt.Sprintf("%d, %s", a.Status, kind)
	default:
		return fmt.Sprintf("%d, not JSON (%.40q)", a.Status, b)
	}
}
