package peerdomtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// The four collections. Every hook runs with p.mu held.

func (p *Peerdom) peerKind() kind {
	return kind{
		noun: "peer", title: "Peer", path: "/peers", batch: true,
		writable: []string{"firstName", "lastName", "nickName", "birthdate", "percentage"},
		created: func(rec *record) error {
			if strings.TrimSpace(rec.str("firstName")) == "" {
				return errors.New("firstName is required")
			}
			if err := checkPercentage(rec); err != nil {
				return err
			}
			rec.set("slug", slugify(peerName(rec)))
			return nil
		},
		updated: func(cur, next *record, _ map[string]json.RawMessage) error {
			if strings.TrimSpace(next.str("firstName")) == "" {
				return errors.New("firstName cannot be empty")
			}
			return checkPercentage(next)
		},
		view: func(rec *record, out map[string]json.RawMessage, r *http.Request) {
			if r != nil && withOption(r, "roles") && r.PathValue("id") != "" {
				roles := []map[string]string{}
				for _, h := range p.holders {
					if role, ok := p.roles.get(h.RoleID); ok && h.PeerID == rec.id() {
						roles = append(roles, map[string]string{"id": h.RoleID, "name": role.str("name")})
					}
				}
				b, _ := json.Marshal(roles)
				out["roles"] = b
			}
		},
		listed: func(rec *record, r *http.Request) (bool, error) {
			include := false
			if s := r.URL.Query().Get("includeFormer"); s != "" {
				v, err := strconv.ParseBool(s)
				if err != nil {
					return false, errors.New("includeFormer must be true or false")
				}
				include = v
			}
			return include || !former(rec), nil
		},
		deleted: func(rec *record) {
			p.holders = slices.DeleteFunc(p.holders, func(h Holder) bool { return h.PeerID == rec.id() })
		},
		describe: func(rec *record) []field {
			return append([]field{one("Name", peerName(rec)), one("Nickname", rec.str("nickName")), one("Birthdate", rec.str("birthdate"))},
				customFields(rec.fields)...)
		},
		link: func(rec *record) string {
			return fmt.Sprintf("%s/%s/peers/%s", p.cfg.AppURL, p.cfg.Organization, rec.id())
		},
	}
}

// checkPercentage: a peer's percentage is an integer from 0 to 100; it is shown as the
// peer's contribution.
func checkPercentage(rec *record) error {
	raw, ok := rec.attrs["percentage"]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 || n > 100 {
		return errors.New("percentage must be an integer from 0 to 100")
	}
	delete(rec.attrs, "percentage")
	rec.set("contribution", n)
	rec.set("contributionUnit", "percent")
	return nil
}

func peerName(rec *record) string {
	return strings.TrimSpace(strings.TrimSpace(rec.str("firstName")) + " " + strings.TrimSpace(rec.str("lastName")))
}

// former: the peer has left (leftAt is set and not in the future).
func former(rec *record) bool {
	left := rec.str("leftAt")
	if left == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, left)
	return err != nil || !t.After(time.Now())
}

var roleWritable = []string{"name", "mapId", "parentId", "electable", "external", "color", "shape", "groupEmail", "goals"}

// placed checks a role's or circle's map and parent, on create and update.
func (p *Peerdom) placed(rec *record) error {
	if strings.TrimSpace(rec.str("name")) == "" {
		return errors.New("name is required")
	}
	mapID := rec.str("mapId")
	if mapID == "" {
		return errors.New("mapId is required")
	}
	if _, ok := p.maps.get(mapID); !ok {
		return errors.New("map " + mapID + " not found")
	}
	if parent := rec.str("parentId"); parent != "" {
		if _, ok := p.circles.get(parent); !ok {
			return errors.New("parent circle " + parent + " not found")
		}
		if parent == rec.id() {
			return errors.New("a circle cannot be its own parent")
		}
	}
	if s := rec.str("shape"); s != "" && s != "circle" && s != "hexagon" {
		return errors.New(`shape must be "circle" or "hexagon"`)
	}
	return nil
}

// parentNamed enforces RequireParentID on an update.
func (p *Peerdom) parentNamed(cur *record, body map[string]json.RawMessage) error {
	if !p.cfg.RequireParentID || cur.str("parentId") == "" {
		return nil
	}
	if _, ok := body["parentId"]; !ok {
		return errors.New("parentId is required")
	}
	return nil
}

func (p *Peerdom) roleKind() kind {
	return kind{
		noun: "role", title: "Role", path: "/roles", writable: roleWritable, hidden: []string{"mapId"}, builtins: true,
		created: func(rec *record) error {
			if err := p.placed(rec); err != nil {
				return err
			}
			rec.set("slug", slugify(rec.str("name")))
			rec.set("createdAt", nowString())
			return nil
		},
		updated: func(cur, next *record, body map[string]json.RawMessage) error {
			if err := p.parentNamed(cur, body); err != nil {
				return err
			}
			return p.placed(next)
		},
		view: func(rec *record, out map[string]json.RawMessage, r *http.Request) {
			if p.cfg.RoleReadWithoutHolders && r != nil && r.PathValue("id") != "" {
				return
			}
			holders := []map[string]any{}
			id := rec.id() // once: it decodes JSON, and a list views every role
			for _, h := range p.holders {
				if h.RoleID == id {
					m := map[string]any{"peerId": h.PeerID}
					if h.Percentage != nil {
						m["contribution"], m["contributionUnit"] = *h.Percentage, "percent"
					}
					holders = append(holders, m)
				}
			}
			b, _ := json.Marshal(holders)
			out["holders"] = b
		},
		deleted: func(rec *record) {
			p.holders = slices.DeleteFunc(p.holders, func(h Holder) bool { return h.RoleID == rec.id() })
		},
		describe: func(rec *record) []field {
			return append([]field{one("Name", rec.str("name")), one("Map", p.mapName(rec.str("mapId"))), one("Circle", p.circleName(rec.str("parentId"))),
				one("Color", rec.str("color")), one("Shape", rec.str("shape")), one("Group email", rec.str("groupEmail"))},
				p.fieldsShown(rec)...)
		},
		link: func(rec *record) string {
			return fmt.Sprintf("%s/%s/map/%s/role/%s", p.cfg.AppURL, p.cfg.Organization, rec.str("mapId"), rec.id())
		},
	}
}

func (p *Peerdom) circleKind() kind {
	k := p.roleKind()
	k.noun, k.title, k.path = "circle", "Circle", "/circles"
	k.created = func(rec *record) error {
		if err := p.placed(rec); err != nil {
			return err
		}
		rec.set("slug", slugify(rec.str("name")))
		rec.set("createdAt", nowString())
		return nil
	}
	k.view, k.deleted = nil, nil
	k.describe = func(rec *record) []field {
		return append([]field{one("Name", rec.str("name")), one("Map", p.mapName(rec.str("mapId"))), one("Parent circle", p.circleName(rec.str("parentId"))),
			one("Color", rec.str("color")), one("Shape", rec.str("shape")), one("Group email", rec.str("groupEmail"))},
			p.fieldsShown(rec)...)
	}
	k.link = func(rec *record) string {
		return fmt.Sprintf("%s/%s/map/%s/circle/%s", p.cfg.AppURL, p.cfg.Organization, rec.str("mapId"), rec.id())
	}
	return k
}

func (p *Peerdom) mapKind() kind {
	return kind{noun: "map", path: "/maps", readOnly: true}
}

// fieldsShown are a role's or circle's built-in and custom fields, as webhooks show them.
func (p *Peerdom) fieldsShown(rec *record) []field {
	var out []field
	if p.cfg.Builtins == BuiltinsAsAttributes {
		for _, name := range peerdomapi.BuiltinFields {
			key, _ := peerdomapi.BuiltinKey(name)
			values, _ := fieldValues(rec.attrs[key])
			out = append(out, customFields([]peerdomapi.CustomField{{Name: name, Values: values}})...)
		}
	}
	return append(out, customFields(rec.fields)...)
}

func (p *Peerdom) mapName(id string) string {
	if m, ok := p.maps.get(id); ok {
		return m.str("name")
	}
	return ""
}

func (p *Peerdom) circleName(id string) string {
	if g, ok := p.circles.get(id); ok {
		return g.str("name")
	}
	return ""
}

func (p *Peerdom) peerNameByID(id string) string {
	if v, ok := p.peers.get(id); ok {
		return peerName(v)
	}
	return ""
}

// ---- assignments: POST /roles/{id}/peers, DELETE /roles/{id}/peers/{peerId} ----

// Holder is a peer filling a role: what an assignment makes. The API shows holders
// only inside their role.
type Holder struct {
	RoleID       string
	PeerID       string
	Percentage   *int
	Focus        string
	ElectedUntil string
}

func (p *Peerdom) assignPeer(w http.ResponseWriter, r *http.Request) {
	body, err := readObject(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var a struct {
		PeerID       string `json:"peerId"`
		Percentage   *int   `json:"percentage"`
		Focus        string `json:"focus"`
		ElectedUntil string `json:"electedUntil"`
	}
	b, _ := json.Marshal(body)
	if err := json.Unmarshal(b, &a); err != nil {
		writeError(w, http.StatusBadRequest, "peerId, focus and electedUntil are strings; percentage an integer")
		return
	}
	switch {
	case a.PeerID == "":
		writeError(w, http.StatusBadRequest, "peerId is required")
		return
	case a.Percentage != nil && (*a.Percentage < 0 || *a.Percentage > 100):
		writeError(w, http.StatusBadRequest, "percentage must be an integer from 0 to 100")
		return
	}
	if a.ElectedUntil != "" {
		if _, err := time.Parse(time.DateOnly, a.ElectedUntil); err != nil {
			writeError(w, http.StatusBadRequest, "electedUntil must be a date (YYYY-MM-DD)")
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	role, ok := p.roles.get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "role not found")
		return
	}
	if _, ok := p.peers.get(a.PeerID); !ok {
		writeError(w, http.StatusBadRequest, "peer "+a.PeerID+" not found")
		return
	}
	p.holders = append(p.holders, Holder{RoleID: role.id(), PeerID: a.PeerID, Percentage: a.Percentage, Focus: a.Focus, ElectedUntil: a.ElectedUntil})
	p.recordWrite(r)
	p.send(message("Role", p.roles.kind.link(role), "updated", author(r), []string{"**Peers:** [+] " + esc(p.peerNameByID(a.PeerID))}))
	ans := p.cfg.AssignAnswer
	if ans.Body == "" {
		if p.cfg.EmptySuccessBodies {
			w.WriteHeader(ans.Status)
			return
		}
		writeJSON(w, ans.Status, p.roles.view(role, nil))
		return
	}
	if json.Valid([]byte(ans.Body)) {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(ans.Status)
	_, _ = w.Write([]byte(ans.Body))
}

func (p *Peerdom) unassignPeer(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	role, ok := p.roles.get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "role not found")
		return
	}
	peerID := r.PathValue("peerId")
	n := len(p.holders)
	p.holders = slices.DeleteFunc(p.holders, func(h Holder) bool { return h.RoleID == role.id() && h.PeerID == peerID })
	if len(p.holders) == n {
		writeError(w, http.StatusNotFound, "peer "+peerID+" does not hold this role")
		return
	}
	p.recordWrite(r)
	p.send(message("Role", p.roles.kind.link(role), "updated", author(r), []string{"**Peers:** [-] " + esc(p.peerNameByID(peerID))}))
	if p.cfg.EmptySuccessBodies {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, p.roles.view(role, nil))
}

// ---- routes ----

func (p *Peerdom) routes() {
	m := http.NewServeMux()
	p.peers.routes(m)
	p.roles.routes(m)
	p.maps.routes(m)
	switch p.cfg.Circles {
	case CirclesAndGroupsList:
		p.circles.routes(m)
		// Pipedream lists circles at /groups; nothing else is known of that path.
		m.HandleFunc("GET "+APIPrefix+"/groups", p.circles.list)
	case CirclesOnly:
		p.circles.routes(m)
	case GroupsOnly:
		p.circles.kind.path = "/groups"
		p.circles.routes(m)
		p.circles.kind.path = "/circles"
	}
	m.HandleFunc("POST "+APIPrefix+"/roles/{id}/peers", p.assignPeer)
	m.HandleFunc("DELETE "+APIPrefix+"/roles/{id}/peers/{peerId}", p.unassignPeer)
	// Everything else — /holders (removed from the API in 2023), /maps/{id} and
	// /groups/{id} (unverified) — is not there.
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+strings.TrimPrefix(r.URL.Path, APIPrefix))
	})
	p.mux = m
}

// withOption reports whether the with= query names opt (customfields, roles).
func withOption(r *http.Request, opt string) bool {
	for _, w := range strings.Split(r.URL.Query().Get("with"), ",") {
		if strings.EqualFold(strings.TrimSpace(w), opt) {
			return true
		}
	}
	return false
}

// page applies limit (an integer from 1 to 100, as documented) and offset to a list of
// n items; an error refuses the request (400).
func (p *Peerdom) page(r *http.Request, n int) (lo, hi int, err error) {
	limit, offset := n, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > peerdomapi.MaxPageSize {
			return 0, 0, errors.New("limit must be an integer from 1 to 100")
		}
		limit = min(v, p.cfg.MaxPageSize)
	}
	if s := q.Get("offset"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return 0, 0, errors.New("offset must be a non-negative integer")
		}
		offset = v
	}
	coll := strings.TrimPrefix(r.URL.Path, APIPrefix)
	if slices.Contains(p.cfg.IgnorePaging, coll) {
		return 0, n, nil
	}
	if slices.Contains(p.cfg.IgnoreOffset, coll) {
		offset = 0
	}
	lo = min(offset, n)
	return lo, min(lo+limit, n), nil
}

// ---- seeding: data as if already in Peerdom; no webhook, no write ----

// AddPeer stores a peer (a former one when LeftAt is set). An empty ID gets a
// generated one; the stored peer is returned.
func (p *Peerdom) AddPeer(v peerdomapi.Peer) peerdomapi.Peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peers.seed(v, func(rec *record) {
		if rec.str("slug") == "" {
			rec.set("slug", slugify(peerName(rec)))
		}
	})
}

// AddRole stores a role on the live map. Holders are ignored: use AddHolder. Built-in
// fields may be given either way (custom fields or Extra attributes); they are stored
// where Config.Builtins says.
func (p *Peerdom) AddRole(v peerdomapi.Role) peerdomapi.Role {
	p.mu.Lock()
	defer p.mu.Unlock()
	v.Holders = nil
	return p.roles.seed(v, p.completePlaced)
}

// AddGroup stores a circle on the live map.
func (p *Peerdom) AddGroup(v peerdomapi.Group) peerdomapi.Group {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.circles.seed(v, p.completePlaced)
}

func (p *Peerdom) completePlaced(rec *record) {
	delete(rec.attrs, "holders")
	rec.set("mapId", p.liveMap)
	if rec.str("slug") == "" {
		rec.set("slug", slugify(rec.str("name")))
	}
	if rec.str("createdAt") == "" {
		rec.set("createdAt", nowString())
	}
}

// AddHolder stores a role assignment.
func (p *Peerdom) AddHolder(h Holder) Holder {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holders = append(p.holders, h)
	return h
}

// AddMap stores a map.
func (p *Peerdom) AddMap(v peerdomapi.Map) peerdomapi.Map {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maps.seed(v, nil)
}

// LiveMap is the map created at start.
func (p *Peerdom) LiveMap() peerdomapi.Map {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, _ := p.maps.get(p.liveMap)
	return p.maps.show(rec)
}

// RootCircle is the root circle made at start (Config.RootCircle), if any.
func (p *Peerdom) RootCircle() (peerdomapi.Group, bool) {
	return p.Group(p.root)
}

// ---- inspection: the stored state, custom fields and role holders included ----

// Peer returns the stored peer.
func (p *Peerdom) Peer(id string) (peerdomapi.Peer, bool) { return lookup(p, p.peers, id) }

// Role returns the stored role with its holders.
func (p *Peerdom) Role(id string) (peerdomapi.Role, bool) { return lookup(p, p.roles, id) }

// Group returns the stored circle.
func (p *Peerdom) Group(id string) (peerdomapi.Group, bool) { return lookup(p, p.circles, id) }

func lookup[T any](p *Peerdom, c *collection[T], id string) (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := c.get(id)
	if !ok {
		var zero T
		return zero, false
	}
	return c.show(rec), true
}

// Holders returns every role assignment.
func (p *Peerdom) Holders() []Holder {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.holders)
}

// Request is one API request the double answered (faults included).
type Request struct {
	Method string
	Path   string // below APIPrefix, e.g. "/roles"
	Query  string
	Status int
	Author string // the key owner's email; empty when the key was refused
	Moved  bool   // answered with a redirect to MovedPrefix (Config.Moved)
}

// Write is one applied write (POST, PUT or DELETE answered 2xx, or applied before an
// injected failure).
type Write struct {
	Method string
	Path   string
	Author string // the key owner's email
}

// Requests returns every request answered so far.
func (p *Peerdom) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Writes returns every applied write so far.
func (p *Peerdom) Writes() []Write {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Write(nil), p.writes...)
}

// WritesBy returns the applied writes made with keys of the person with this email.
func (p *Peerdom) WritesBy(email string) []Write {
	var out []Write
	for _, w := range p.Writes() {
		if strings.EqualFold(w.Author, email) {
			out = append(out, w)
		}
	}
	return out
}

// recordWrite logs an applied write. Called with p.mu held.
func (p *Peerdom) recordWrite(r *http.Request) {
	p.writes = keepLatest(append(p.writes, Write{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, APIPrefix), Author: author(r).Email}), p.cfg.KeepRecords)
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// Leave makes a peer a former peer as of at (sets leftAt), as when someone leaves the
// organization in Peerdom: no webhook (none is known for it), no write.
func (p *Peerdom) Leave(peerID string, at time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := p.peers.get(peerID)
	if ok {
		rec.set("leftAt", at.UTC().Format(time.RFC3339))
	}
	return ok
}

// Return makes a former peer active again (clears leftAt): no webhook, no write.
func (p *Peerdom) Return(peerID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := p.peers.get(peerID)
	if ok {
		delete(rec.attrs, "leftAt")
	}
	return ok
}
