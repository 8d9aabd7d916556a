package peerdomtest

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/peerbridge/peerbridge/internal/uuid"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Fault makes the double misbehave for the next matching requests.
type Fault struct {
	Method     string        // "" matches any method
	Path       string        // a prefix of the path below APIPrefix, e.g. "/roles"; "" matches any
	Status     int           // the status to answer instead (0: answer normally, after Delay)
	RetryAfter string        // the Retry-After header to send with Status, e.g. "1"
	Body       string        // the body to send with Status (default: a JSON error)
	Delay      time.Duration // wait this long before answering (cut short if the client gives up)
	Apply      bool          // carry the request out first, then answer Status: a write that happened but looks failed
	Times      int           // how many requests it affects (0 means 1)
}

// InjectFault adds a fault; faults apply in the order added, each to the number of
// matching requests given by Times.
func (p *Peerdom) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

func (p *Peerdom) takeFault(method, path string) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.faults {
		if (f.Method == "" || f.Method == method) && strings.HasPrefix(path, f.Path) {
			f.Times--
			if f.Times == 0 {
				p.faults = append(p.faults[:i], p.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

type userKey struct{}

// statusRecorder remembers the status written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ServeHTTP checks the key, applies faults, serves the API and logs the request.
func (p *Peerdom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	path := strings.TrimPrefix(r.URL.Path, APIPrefix)
	p.mu.Lock()
	user, ok := p.users[r.Header.Get("X-Api-Key")]
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.requests = append(p.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Status: rec.status, Author: user.Email})
		p.mu.Unlock()
	}()
	if !ok {
		writeError(rec, http.StatusUnauthorized, "invalid or missing API key (X-Api-Key header)")
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
	f := p.takeFault(r.Method, path)
	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f == nil || f.Status == 0 {
		p.mux.ServeHTTP(rec, r)
		return
	}
	if f.Apply {
		p.mux.ServeHTTP(httptest.NewRecorder(), r)
	}
	if f.RetryAfter != "" {
		rec.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		rec.WriteHeader(f.Status)
		_, _ = io.WriteString(rec, f.Body)
		return
	}
	writeError(rec, f.Status, "injected fault: "+http.StatusText(f.Status))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (p *Peerdom) routes() {
	m := http.NewServeMux()
	pre := APIPrefix
	m.HandleFunc("GET "+pre+"/peers", p.listPeers)
	m.HandleFunc("POST "+pre+"/peers", p.createPeer)
	m.HandleFunc("GET "+pre+"/peers/{id}", p.getPeer)
	m.HandleFunc("PUT "+pre+"/peers/{id}", p.updatePeer)
	m.HandleFunc("DELETE "+pre+"/peers/{id}", p.deletePeer)

	m.HandleFunc("GET "+pre+"/roles", p.listRoles)
	m.HandleFunc("POST "+pre+"/roles", p.createRole)
	m.HandleFunc("GET "+pre+"/roles/{id}", p.getRole)
	m.HandleFunc("PUT "+pre+"/roles/{id}", p.updateRole)
	m.HandleFunc("DELETE "+pre+"/roles/{id}", p.deleteRole)
	m.HandleFunc("POST "+pre+"/roles/{id}/peers", p.assignPeer)

	for _, g := range []string{"/groups", "/circles"} {
		m.HandleFunc("GET "+pre+g, p.listGroups)
		m.HandleFunc("POST "+pre+g, p.createGroup)
		m.HandleFunc("GET "+pre+g+"/{id}", p.getGroup)
		m.HandleFunc("PUT "+pre+g+"/{id}", p.updateGroup)
		m.HandleFunc("DELETE "+pre+g+"/{id}", p.deleteGroup)
	}

	m.HandleFunc("GET "+pre+"/holders", p.listHolders)
	m.HandleFunc("POST "+pre+"/holders", p.createHolder)
	m.HandleFunc("GET "+pre+"/holders/{id}", p.getHolder)
	m.HandleFunc("PUT "+pre+"/holders/{id}", p.updateHolder)
	m.HandleFunc("DELETE "+pre+"/holders/{id}", p.deleteHolder)

	m.HandleFunc("GET "+pre+"/maps", p.listMaps)
	m.HandleFunc("GET "+pre+"/maps/{id}", p.getMap)
	p.mux = m
}

func author(r *http.Request) User {
	u, _ := r.Context().Value(userKey{}).(User)
	return u
}

func withCustomFields(r *http.Request) bool {
	for _, w := range strings.Split(r.URL.Query().Get("with"), ",") {
		if strings.EqualFold(strings.TrimSpace(w), "customfields") {
			return true
		}
	}
	return false
}

// page applies limit and offset to a list. Bad values are a 400, as a strict API would.
func (p *Peerdom) page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int, ok bool) {
	limit, offset := p.cfg.MaxPageSize, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive integer")
			return 0, 0, false
		}
		limit = min(v, p.cfg.MaxPageSize)
	}
	if s := q.Get("offset"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			writeError(w, http.StatusBadRequest, "offset must be a non-negative integer")
			return 0, 0, false
		}
		offset = v
	}
	lo = min(offset, n)
	return lo, min(lo+limit, n), true
}

// decodeBody reads a JSON object into v and also returns its keys, so an update can
// tell "absent" (leave as is) from "empty".
func decodeBody(w http.ResponseWriter, r *http.Request, v any) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil || keys == nil {
		writeError(w, http.StatusBadRequest, "body must be a JSON object")
		return nil, false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "body does not match the resource: "+err.Error())
		return nil, false
	}
	return keys, true
}

// setPresent sets the fields named in an update body, empty values included, and leaves
// the others as they are.
func setPresent(keys map[string]json.RawMessage, v any) {
	b, _ := json.Marshal(keys)
	_ = json.Unmarshal(b, v) // decodeBody already checked the body decodes into this type
}

// mergeFields sets each custom field named in the update and keeps the others.
func mergeFields(cur, upd []peerdomapi.CustomField) []peerdomapi.CustomField {
	out := clone(cur)
	for _, u := range upd {
		found := false
		for i := range out {
			if strings.EqualFold(out[i].Name, u.Name) {
				out[i].Values = u.Values
				found = true
				break
			}
		}
		if !found {
			out = append(out, u)
		}
	}
	return out
}

// recordWrite logs an applied write. Called with p.mu held.
func (p *Peerdom) recordWrite(r *http.Request) {
	p.writes = append(p.writes, Write{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, APIPrefix), Author: author(r).Email})
}

// ---- peers ----

func (p *Peerdom) peerOut(v peerdomapi.Peer, cf bool) peerdomapi.Peer {
	v = clone(v)
	if !cf {
		v.CustomFields = nil
	}
	return v
}

func (p *Peerdom) listPeers(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	all := p.peers.all()
	lo, hi, ok := p.page(w, r, len(all))
	out := []peerdomapi.Peer{}
	for _, v := range all[lo:hi] {
		out = append(out, p.peerOut(v, withCustomFields(r)))
	}
	p.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func (p *Peerdom) getPeer(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	v, ok := p.peers.get(r.PathValue("id"))
	v = p.peerOut(v, withCustomFields(r))
	p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "peer not found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (p *Peerdom) createPeer(w http.ResponseWriter, r *http.Request) {
	var v peerdomapi.Peer
	if _, ok := decodeBody(w, r, &v); !ok {
		return
	}
	if v.FullName() == "" {
		writeError(w, http.StatusBadRequest, "firstName or lastName is required")
		return
	}
	v.ID = uuid.New()
	if v.Slug == "" {
		v.Slug = slugify(v.FullName())
	}
	p.mu.Lock()
	p.peers.put(v.ID, clone(v))
	p.recordWrite(r)
	p.send(message("Peer", p.peerLink(v.ID), "created", author(r), fieldLines(p.describePeer(v))))
	p.mu.Unlock()
	writeJSON(w, http.StatusCreated, v)
}

func (p *Peerdom) updatePeer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var upd peerdomapi.Peer
	keys, ok := decodeBody(w, r, &upd)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.peers.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "peer not found")
		return
	}
	next := clone(cur)
	setPresent(keys, &next)
	if _, ok := keys["customFields"]; ok {
		next.CustomFields = mergeFields(cur.CustomFields, upd.CustomFields)
	}
	next.ID = id
	p.peers.put(id, clone(next))
	p.recordWrite(r)
	if lines := diffLines(p.describePeer(cur), p.describePeer(next)); len(lines) > 0 {
		p.send(message("Peer", p.peerLink(id), "updated", author(r), lines))
	}
	writeJSON(w, http.StatusOK, next)
}

func (p *Peerdom) deletePeer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.peers.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "peer not found")
		return
	}
	p.peers.del(id)
	for _, h := range p.holders.all() {
		if h.PeerID == id {
			p.holders.del(h.ID)
		}
	}
	p.recordWrite(r)
	p.send(message("Peer", p.peerLink(id), "deleted", author(r), fieldLines(p.describePeer(cur))))
	w.WriteHeader(http.StatusNoContent)
}

// ---- roles ----

func (p *Peerdom) listRoles(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	all := p.roles.all()
	lo, hi, ok := p.page(w, r, len(all))
	out := []peerdomapi.Role{}
	for _, v := range all[lo:hi] {
		out = append(out, p.roleOut(v, withCustomFields(r)))
	}
	p.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func (p *Peerdom) getRole(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	v, ok := p.roles.get(r.PathValue("id"))
	v = p.roleOut(v, withCustomFields(r))
	p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "role not found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// checkPlacement validates a role's or group's map and parent. Called with p.mu held.
func (p *Peerdom) checkPlacement(mapID, parentID string) string {
	if mapID == "" {
		return "mapId is required"
	}
	if _, ok := p.maps.get(mapID); !ok {
		return "map " + mapID + " not found"
	}
	if parentID != "" {
		if _, ok := p.groups.get(parentID); !ok {
			return "parent group " + parentID + " not found"
		}
	}
	return ""
}

func (p *Peerdom) createRole(w http.ResponseWriter, r *http.Request) {
	var v peerdomapi.Role
	if _, ok := decodeBody(w, r, &v); !ok {
		return
	}
	if strings.TrimSpace(v.Name) == "" {
		writeError(w, http.StatusBadRequest, "name is required")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg := p.checkPlacement(v.MapID, v.ParentID); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	v.ID, v.CreatedAt, v.Holders = uuid.New(), nowString(), nil
	if v.Slug == "" {
		v.Slug = slugify(v.Name)
	}
	p.roles.put(v.ID, clone(v))
	p.recordWrite(r)
	p.send(message("Role", p.roleLink(v), "created", author(r), fieldLines(p.describeRole(v))))
	writeJSON(w, http.StatusCreated, p.roleOut(v, true))
}

func (p *Peerdom) updateRole(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var upd peerdomapi.Role
	keys, ok := decodeBody(w, r, &upd)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.roles.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "role not found")
		return
	}
	next := clone(cur)
	setPresent(keys, &next)
	next.Holders = nil // holders change through assignments, not here
	if _, ok := keys["customFields"]; ok {
		next.CustomFields = mergeFields(cur.CustomFields, upd.CustomFields)
	}
	next.ID, next.CreatedAt = id, cur.CreatedAt
	if msg := p.checkPlacement(next.MapID, next.ParentID); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	p.roles.put(id, clone(next))
	p.recordWrite(r)
	if lines := diffLines(p.describeRole(cur), p.describeRole(next)); len(lines) > 0 {
		p.send(message("Role", p.roleLink(next), "updated", author(r), lines))
	}
	writeJSON(w, http.StatusOK, p.roleOut(next, true))
}

func (p *Peerdom) deleteRole(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.roles.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "role not found")
		return
	}
	p.roles.del(id)
	for _, h := range p.holders.all() {
		if h.RoleID == id {
			p.holders.del(h.ID)
		}
	}
	p.recordWrite(r)
	p.send(message("Role", p.roleLink(cur), "deleted", author(r), fieldLines(p.describeRole(cur))))
	w.WriteHeader(http.StatusNoContent)
}

// ---- groups ----

func (p *Peerdom) groupOut(v peerdomapi.Group, cf bool) peerdomapi.Group {
	v = clone(v)
	if !cf {
		v.CustomFields = nil
	}
	return v
}

func (p *Peerdom) listGroups(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	all := p.groups.all()
	lo, hi, ok := p.page(w, r, len(all))
	out := []peerdomapi.Group{}
	for _, v := range all[lo:hi] {
		out = append(out, p.groupOut(v, withCustomFields(r)))
	}
	p.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func (p *Peerdom) getGroup(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	v, ok := p.groups.get(r.PathValue("id"))
	v = p.groupOut(v, withCustomFields(r))
	p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "group not found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (p *Peerdom) createGroup(w http.ResponseWriter, r *http.Request) {
	var v peerdomapi.Group
	if _, ok := decodeBody(w, r, &v); !ok {
		return
	}
	if strings.TrimSpace(v.Name) == "" {
		writeError(w, http.StatusBadRequest, "name is required")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg := p.checkPlacement(v.MapID, v.ParentID); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	v.ID, v.CreatedAt = uuid.New(), nowString()
	if v.Slug == "" {
		v.Slug = slugify(v.Name)
	}
	p.groups.put(v.ID, clone(v))
	p.recordWrite(r)
	p.send(message("Circle", p.groupLink(v), "created", author(r), fieldLines(p.describeGroup(v))))
	writeJSON(w, http.StatusCreated, v)
}

func (p *Peerdom) updateGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var upd peerdomapi.Group
	keys, ok := decodeBody(w, r, &upd)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.groups.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "group not found")
		return
	}
	next := clone(cur)
	setPresent(keys, &next)
	if _, ok := keys["customFields"]; ok {
		next.CustomFields = mergeFields(cur.CustomFields, upd.CustomFields)
	}
	next.ID, next.CreatedAt = id, cur.CreatedAt
	if next.ParentID == id {
		writeError(w, http.StatusBadRequest, "a group cannot be its own parent")
		return
	}
	if msg := p.checkPlacement(next.MapID, next.ParentID); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	p.groups.put(id, clone(next))
	p.recordWrite(r)
	if lines := diffLines(p.describeGroup(cur), p.describeGroup(next)); len(lines) > 0 {
		p.send(message("Circle", p.groupLink(next), "updated", author(r), lines))
	}
	writeJSON(w, http.StatusOK, next)
}

func (p *Peerdom) deleteGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.groups.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "group not found")
		return
	}
	p.groups.del(id)
	p.recordWrite(r)
	p.send(message("Circle", p.groupLink(cur), "deleted", author(r), fieldLines(p.describeGroup(cur))))
	w.WriteHeader(http.StatusNoContent)
}

// ---- holders (role assignments) ----

func (p *Peerdom) listHolders(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	all := p.holders.all()
	lo, hi, ok := p.page(w, r, len(all))
	out := append([]peerdomapi.Holder{}, clone(all[lo:hi])...)
	p.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func (p *Peerdom) getHolder(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	v, ok := p.holders.get(r.PathValue("id"))
	p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "holder not found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// addHolder validates and stores an assignment and announces it as a role update, the
// way Peerdom reports a role's holders changing. Called with p.mu held.
func (p *Peerdom) addHolder(w http.ResponseWriter, r *http.Request, h peerdomapi.Holder) {
	role, ok := p.roles.get(h.RoleID)
	if !ok {
		writeError(w, http.StatusNotFound, "role not found")
		return
	}
	if _, ok := p.peers.get(h.PeerID); !ok {
		writeError(w, http.StatusBadRequest, "peer "+h.PeerID+" not found")
		return
	}
	if h.Percentage != nil && (*h.Percentage < 0 || *h.Percentage > 100) {
		writeError(w, http.StatusBadRequest, "percentage must be between 0 and 100")
		return
	}
	h.ID = uuid.New()
	p.holders.put(h.ID, h)
	p.recordWrite(r)
	p.send(message("Role", p.roleLink(role), "updated", author(r), []string{"**Peers:** [+] " + esc(p.peerName(h.PeerID))}))
	writeJSON(w, http.StatusCreated, h)
}

func (p *Peerdom) createHolder(w http.ResponseWriter, r *http.Request) {
	var h peerdomapi.Holder
	if _, ok := decodeBody(w, r, &h); !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addHolder(w, r, h)
}

func (p *Peerdom) assignPeer(w http.ResponseWriter, r *http.Request) {
	var a peerdomapi.Assignment
	if _, ok := decodeBody(w, r, &a); !ok {
		return
	}
	if a.PeerID == "" {
		writeError(w, http.StatusBadRequest, "peerId is required")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addHolder(w, r, peerdomapi.Holder{RoleID: r.PathValue("id"), PeerID: a.PeerID, Percentage: a.Percentage, Focus: a.Focus})
}

func (p *Peerdom) updateHolder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var upd peerdomapi.Holder
	if _, ok := decodeBody(w, r, &upd); !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.holders.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "holder not found")
		return
	}
	next := clone(cur)
	if upd.Percentage != nil {
		if *upd.Percentage < 0 || *upd.Percentage > 100 {
			writeError(w, http.StatusBadRequest, "percentage must be between 0 and 100")
			return
		}
		next.Percentage = upd.Percentage
	}
	if upd.Focus != "" {
		next.Focus = upd.Focus
	}
	p.holders.put(id, next)
	p.recordWrite(r)
	name := p.peerName(cur.PeerID)
	pct := func(h peerdomapi.Holder) string {
		if h.Percentage == nil {
			return ""
		}
		return strconv.FormatFloat(*h.Percentage, 'f', -1, 64) + "%"
	}
	lines := diffLines(
		[]field{one("Focus of "+name, cur.Focus), one("Percentage of "+name, pct(cur))},
		[]field{one("Focus of "+name, next.Focus), one("Percentage of "+name, pct(next))})
	if role, ok := p.roles.get(cur.RoleID); ok && len(lines) > 0 {
		p.send(message("Role", p.roleLink(role), "updated", author(r), lines))
	}
	writeJSON(w, http.StatusOK, next)
}

func (p *Peerdom) deleteHolder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, found := p.holders.get(id)
	if !found {
		writeError(w, http.StatusNotFound, "holder not found")
		return
	}
	p.holders.del(id)
	p.recordWrite(r)
	if role, ok := p.roles.get(cur.RoleID); ok {
		p.send(message("Role", p.roleLink(role), "updated", author(r), []string{"**Peers:** [-] " + esc(p.peerName(cur.PeerID))}))
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- maps ----

func (p *Peerdom) listMaps(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	all := p.maps.all()
	lo, hi, ok := p.page(w, r, len(all))
	out := append([]peerdomapi.Map{}, all[lo:hi]...)
	p.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func (p *Peerdom) getMap(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	v, ok := p.maps.get(r.PathValue("id"))
	p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("map %s not found", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, v)
}
