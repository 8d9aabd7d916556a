package peerdomtest

import (
	"encoding/json"
	"github.com/peerbridge/peerbridge/internal/uuid"
	"strings"
	"unicode"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// table keeps items in creation order.
type table[T any] struct {
	ids  []string
	byID map[string]T
}

func (t *table[T]) put(id string, v T) {
	if t.byID == nil {
		t.byID = map[string]T{}
	}
	if _, ok := t.byID[id]; !ok {
		t.ids = append(t.ids, id)
	}
	t.byID[id] = v
}

func (t *table[T]) get(id string) (T, bool) {
	v, ok := t.byID[id]
	return v, ok
}

func (t *table[T]) del(id string) bool {
	if _, ok := t.byID[id]; !ok {
		return false
	}
	delete(t.byID, id)
	for i, x := range t.ids {
		if x == id {
			t.ids = append(t.ids[:i], t.ids[i+1:]...)
			break
		}
	}
	return true
}

func (t *table[T]) all() []T {
	out := make([]T, 0, len(t.ids))
	for _, id := range t.ids {
		out = append(out, t.byID[id])
	}
	return out
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

// clone deep-copies through JSON, so stored values never share slices with callers.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// Seeding: these add data as it would already be in Peerdom. They send no webhook and
// count as no write. An empty ID gets a generated one; the stored item is returned.

// AddPeer stores a peer.
func (p *Peerdom) AddPeer(v peerdomapi.Peer) peerdomapi.Peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v.ID == "" {
		v.ID = uuid.New()
	}
	if v.Slug == "" {
		v.Slug = slugify(v.FullName())
	}
	p.peers.put(v.ID, clone(v))
	return clone(v)
}

// AddRole stores a role (on the live map unless MapID is set). Holders are ignored:
// use AddHolder.
func (p *Peerdom) AddRole(v peerdomapi.Role) peerdomapi.Role {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v.ID == "" {
		v.ID = uuid.New()
	}
	if v.MapID == "" {
		v.MapID = p.liveMap
	}
	if v.Slug == "" {
		v.Slug = slugify(v.Name)
	}
	if v.CreatedAt == "" {
		v.CreatedAt = nowString()
	}
	v.Holders = nil
	p.roles.put(v.ID, clone(v))
	return p.roleOut(v, true)
}

// AddGroup stores a group (on the live map unless MapID is set).
func (p *Peerdom) AddGroup(v peerdomapi.Group) peerdomapi.Group {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v.ID == "" {
		v.ID = uuid.New()
	}
	if v.MapID == "" {
		v.MapID = p.liveMap
	}
	if v.Slug == "" {
		v.Slug = slugify(v.Name)
	}
	if v.CreatedAt == "" {
		v.CreatedAt = nowString()
	}
	p.groups.put(v.ID, clone(v))
	return clone(v)
}

// AddHolder stores a role assignment.
func (p *Peerdom) AddHolder(v peerdomapi.Holder) peerdomapi.Holder {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v.ID == "" {
		v.ID = uuid.New()
	}
	p.holders.put(v.ID, clone(v))
	return clone(v)
}

// AddMap stores a map.
func (p *Peerdom) AddMap(v peerdomapi.Map) peerdomapi.Map {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v.ID == "" {
		v.ID = uuid.New()
	}
	p.maps.put(v.ID, v)
	return v
}

// LiveMap is the map created at start.
func (p *Peerdom) LiveMap() peerdomapi.Map {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, _ := p.maps.get(p.liveMap)
	return m
}

// Inspection: the stored state, custom fields and role holders included.

// Peer returns the stored peer.
func (p *Peerdom) Peer(id string) (peerdomapi.Peer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.peers.get(id)
	return clone(v), ok
}

// Role returns the stored role with its holders.
func (p *Peerdom) Role(id string) (peerdomapi.Role, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.roles.get(id)
	return p.roleOut(v, true), ok
}

// Group returns the stored group.
func (p *Peerdom) Group(id string) (peerdomapi.Group, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.groups.get(id)
	return clone(v), ok
}

// Holders returns every role assignment.
func (p *Peerdom) Holders() []peerdomapi.Holder {
	p.mu.Lock()
	defer p.mu.Unlock()
	return clone(p.holders.all())
}

// Request is one API request the double answered (faults included).
type Request struct {
	Method string
	Path   string // below APIPrefix, e.g. "/roles"
	Query  string
	Status int
	Author string // the key owner's email; empty when the key was refused
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

// roleOut is a role as the API shows it: holders from the assignments; custom fields
// only when asked. Called with p.mu held.
func (p *Peerdom) roleOut(r peerdomapi.Role, customFields bool) peerdomapi.Role {
	r = clone(r)
	r.Holders = nil
	for _, h := range p.holders.all() {
		if h.RoleID == r.ID {
			r.Holders = append(r.Holders, peerdomapi.RoleHolder{PeerID: h.PeerID, Contribution: h.Percentage, ContributionUnit: "percent"})
		}
	}
	if !customFields {
		r.CustomFields = nil
	}
	return r
}
