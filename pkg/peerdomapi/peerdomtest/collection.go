package peerdomtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// record is one stored entity: its attributes as JSON (id included, and attributes the
// API does not return, such as a role's mapId) and its custom fields.
type record struct {
	attrs  map[string]json.RawMessage
	fields []peerdomapi.CustomField
}

func (r *record) id() string { return r.str("id") }

// str is an attribute's text: a string's content, else its JSON; "" when absent or null.
func (r *record) str(key string) string {
	v, ok := r.attrs[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(v)); t != "null" {
		return t
	}
	return ""
}

func (r *record) set(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	r.attrs[key] = b
}

func (r *record) clone() *record {
	c := &record{attrs: make(map[string]json.RawMessage, len(r.attrs))}
	for k, v := range r.attrs {
		c.attrs[k] = v
	}
	for _, f := range r.fields {
		c.fields = append(c.fields, peerdomapi.CustomField{ID: f.ID, Name: f.Name, Values: slices.Clone(f.Values), Definition: f.Definition})
	}
	return c
}

// setField sets a custom field's values, adding it when missing (names fold case).
func (r *record) setField(name string, values []string) {
	for i := range r.fields {
		if strings.EqualFold(r.fields[i].Name, name) {
			r.fields[i].Values = values
			return
		}
	}
	r.fields = append(r.fields, peerdomapi.CustomField{Name: name, Values: values})
}

// kind is what sets one collection apart; every hook is called with p.mu held.
type kind struct {
	noun     string   // "peer", in messages
	title    string   // the webhook header's link text: "Peer", "Role", "Circle"
	path     string   // "/peers"
	readOnly bool     // only the list is served (maps)
	writable []string // the body keys a create or update applies; others are ignored
	hidden   []string // stored attributes the API does not return
	builtins bool     // has the built-in fields Purpose, Accountabilities, Notes
	batch    bool     // a create may send an array of items, created all or nothing

	// created checks and completes a new record; a message refuses it with 400.
	created func(rec *record) string
	// updated checks an updated record against the stored one and the request body.
	updated func(cur, next *record, body map[string]json.RawMessage) string
	// view adds what the API shows beyond the record (a role's holders).
	view func(rec *record, out map[string]json.RawMessage, r *http.Request)
	// listed says whether a list shows the record (peers: active ones only).
	listed func(rec *record, r *http.Request) (bool, string)
	// deleted removes what depends on a deleted record.
	deleted func(rec *record)
	// describe gives the fields a webhook shows; link the app link of its header.
	describe func(rec *record) []field
	link     func(rec *record) string
}

// collection is one collection of the API with items of type T — the double's side of
// peerdomapi.Resource[T, In]: it stores records, serves the list, get, create, update and
// delete handlers for them, and seeds and shows them as T.
type collection[T any] struct {
	p    *Peerdom
	kind kind
	ids  []string
	byID map[string]*record
}

func newCollection[T any](p *Peerdom, k kind) *collection[T] {
	return &collection[T]{p: p, kind: k, byID: map[string]*record{}}
}

func (c *collection[T]) get(id string) (*record, bool) {
	r, ok := c.byID[id]
	return r, ok
}

func (c *collection[T]) put(r *record) {
	id := r.id()
	if _, ok := c.byID[id]; !ok {
		c.ids = append(c.ids, id)
	}
	c.byID[id] = r
}

func (c *collection[T]) del(id string) {
	delete(c.byID, id)
	c.ids = slices.DeleteFunc(c.ids, func(x string) bool { return x == id })
}

func (c *collection[T]) all() []*record {
	out := make([]*record, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.byID[id])
	}
	return out
}

func (c *collection[T]) routes(m *http.ServeMux) {
	pre := APIPrefix + c.kind.path
	m.HandleFunc("GET "+pre, c.list)
	if c.kind.readOnly {
		return
	}
	m.HandleFunc("POST "+pre, c.create)
	m.HandleFunc("GET "+pre+"/{id}", c.getOne)
	m.HandleFunc("PUT "+pre+"/{id}", c.update)
	m.HandleFunc("DELETE "+pre+"/{id}", c.remove)
}

// view is a record as the API answers it. Called with p.mu held.
func (c *collection[T]) view(rec *record, r *http.Request) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(rec.attrs)+2)
	for k, v := range rec.attrs {
		if !slices.Contains(c.kind.hidden, k) {
			out[k] = v
		}
	}
	if c.kind.builtins && c.p.cfg.Builtins == BuiltinsAsAttributes {
		for _, name := range peerdomapi.BuiltinFields {
			if key, _ := peerdomapi.BuiltinKey(name); out[key] == nil {
				out[key] = json.RawMessage(`""`)
			}
		}
	}
	if r == nil || withOption(r, "customfields") {
		fields := make([]peerdomapi.CustomField, 0, len(rec.fields))
		for _, f := range rec.fields {
			if f.Values == nil {
				f.Values = []string{}
			}
			fields = append(fields, f)
		}
		b, _ := json.Marshal(fields)
		out["customFields"] = b
	}
	if c.kind.view != nil {
		c.kind.view(rec, out, r)
	}
	return out
}

func (c *collection[T]) list(w http.ResponseWriter, r *http.Request) {
	c.p.mu.Lock()
	var shown []*record
	for _, rec := range c.all() {
		if c.kind.listed != nil {
			ok, msg := c.kind.listed(rec, r)
			if msg != "" {
				c.p.mu.Unlock()
				writeError(w, http.StatusBadRequest, msg)
				return
			}
			if !ok {
				continue
			}
		}
		shown = append(shown, rec)
	}
	lo, hi, msg := c.p.page(r, len(shown))
	out := make([]map[string]json.RawMessage, 0, hi-lo)
	if msg == "" {
		for _, rec := range shown[lo:hi] {
			out = append(out, c.view(rec, r))
		}
	}
	c.p.mu.Unlock()
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *collection[T]) getOne(w http.ResponseWriter, r *http.Request) {
	c.p.mu.Lock()
	rec, ok := c.get(r.PathValue("id"))
	var out map[string]json.RawMessage
	if ok {
		out = c.view(rec, r)
	}
	c.p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, c.kind.noun+" not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *collection[T]) create(w http.ResponseWriter, r *http.Request) {
	bodies, many, msg := readCreate(r, c.kind.batch)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	// All or nothing: every item is checked before any is stored.
	recs := make([]*record, len(bodies))
	for i, body := range bodies {
		rec := &record{attrs: map[string]json.RawMessage{}}
		msg := c.apply(rec, body, MergeCustomFields)
		if msg == "" {
			rec.set("id", peerdom.NewDeliveryID())
			msg = c.kind.created(rec)
		}
		if msg != "" {
			if many {
				msg = fmt.Sprintf("item %d: %s; nothing was created", i, msg)
			}
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		recs[i] = rec
	}
	out := make([]map[string]json.RawMessage, len(recs))
	for i, rec := range recs {
		c.put(rec)
		c.p.recordWrite(r)
		c.p.send(message(c.kind.title, c.kind.link(rec), "created", author(r), fieldLines(c.kind.describe(rec))))
		out[i] = c.view(rec, r)
	}
	if many {
		writeJSON(w, http.StatusCreated, out)
		return
	}
	writeJSON(w, http.StatusCreated, out[0])
}

// readCreate reads a create's body: one object, or where the kind allows it (peers, API
// 0.6.0) a non-empty array of objects.
func readCreate(r *http.Request, batch bool) (bodies []map[string]json.RawMessage, many bool, msg string) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, false, "reading the body: " + err.Error()
	}
	if batch && strings.HasPrefix(strings.TrimSpace(string(b)), "[") {
		if err := json.Unmarshal(b, &bodies); err != nil || len(bodies) == 0 || slices.ContainsFunc(bodies, func(m map[string]json.RawMessage) bool { return m == nil }) {
			return nil, true, "the body must be a JSON object or a non-empty array of objects"
		}
		return bodies, true, ""
	}
	obj, msg := parseObject(b)
	return []map[string]json.RawMessage{obj}, false, msg
}

func (c *collection[T]) update(w http.ResponseWriter, r *http.Request) {
	body, msg := readObject(r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	cur, ok := c.get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, c.kind.noun+" not found")
		return
	}
	next := cur.clone()
	if msg := c.apply(next, body, c.p.cfg.PutCustomFields); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if msg := c.kind.updated(cur, next, body); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c.put(next)
	c.p.recordWrite(r)
	if lines := diffLines(c.kind.describe(cur), c.kind.describe(next)); len(lines) > 0 {
		c.p.send(message(c.kind.title, c.kind.link(next), "updated", author(r), lines))
	}
	writeJSON(w, http.StatusOK, c.view(next, r))
}

func (c *collection[T]) remove(w http.ResponseWriter, r *http.Request) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	cur, ok := c.get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, c.kind.noun+" not found")
		return
	}
	c.del(cur.id())
	if c.kind.deleted != nil {
		c.kind.deleted(cur)
	}
	c.p.recordWrite(r)
	c.p.send(message(c.kind.title, c.kind.link(cur), "deleted", author(r), fieldLines(c.kind.describe(cur))))
	w.WriteHeader(http.StatusNoContent)
}

// apply sets the writable keys of a request body on a record; customFields must be an
// object keyed by field name. Called with p.mu held.
func (c *collection[T]) apply(rec *record, body map[string]json.RawMessage, fieldsMode PutCustomFields) string {
	asAttributes := c.kind.builtins && c.p.cfg.Builtins == BuiltinsAsAttributes
	for key, v := range body {
		switch {
		case key == "customFields":
			fields, msg := customFieldsObject(v)
			if msg != "" {
				return msg
			}
			if fieldsMode == ReplaceCustomFields {
				for i := range rec.fields {
					rec.fields[i].Values = nil
				}
			}
			for _, f := range fields {
				rec.setField(f.Name, f.Values)
			}
		case asAttributes && isBuiltinKey(key):
			if _, msg := fieldValues(v); msg != "" {
				return key + ": " + msg
			}
			rec.attrs[key] = v
		case slices.Contains(c.kind.writable, key):
			if string(v) == "null" {
				delete(rec.attrs, key)
			} else {
				rec.attrs[key] = v
			}
		}
	}
	return ""
}

func isBuiltinKey(key string) bool {
	for _, name := range peerdomapi.BuiltinFields {
		if k, _ := peerdomapi.BuiltinKey(name); k == key {
			return true
		}
	}
	return false
}

// customFieldsObject reads a request's customFields: an object from field name to a
// string or an array of strings, in the order sent.
func customFieldsObject(v json.RawMessage) ([]peerdomapi.CustomField, string) {
	const shape = `customFields must be an object keyed by field name, e.g. {"Office": "Zurich"}`
	dec := json.NewDecoder(strings.NewReader(string(v)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, shape
	}
	var out []peerdomapi.CustomField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, shape
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, shape
		}
		values, msg := fieldValues(raw)
		if msg != "" {
			return nil, fmt.Sprintf("customFields[%q]: %s", name, msg)
		}
		out = append(out, peerdomapi.CustomField{Name: name, Values: values})
	}
	return out, ""
}

// fieldValues reads a written field value: a string, an array of strings, or null.
func fieldValues(raw json.RawMessage) ([]string, string) {
	var one *string
	if json.Unmarshal(raw, &one) == nil {
		if one == nil || *one == "" {
			return nil, ""
		}
		return []string{*one}, ""
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, ""
	}
	return nil, "a value must be a string or an array of strings"
}

// Seeding and inspection through T, the read shape.

// seed stores v as an existing entity: no webhook, no write. Called with p.mu held.
func (c *collection[T]) seed(v T, complete func(rec *record)) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	rec := &record{}
	if err := json.Unmarshal(b, &rec.attrs); err != nil {
		panic(err)
	}
	if raw, ok := rec.attrs["customFields"]; ok {
		if err := json.Unmarshal(raw, &rec.fields); err != nil {
			panic(err)
		}
		delete(rec.attrs, "customFields")
	}
	if rec.id() == "" {
		rec.set("id", peerdom.NewDeliveryID())
	}
	if c.kind.builtins {
		c.p.placeBuiltins(rec)
	}
	if complete != nil {
		complete(rec)
	}
	c.put(rec)
	return c.show(rec)
}

// show is a record as T, custom fields included. Called with p.mu held.
func (c *collection[T]) show(rec *record) T {
	var v T
	b, _ := json.Marshal(c.view(rec, nil))
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return v
}

// placeBuiltins moves built-in fields where the configuration keeps them, so seeding is
// the same under both placements. Called with p.mu held.
func (p *Peerdom) placeBuiltins(rec *record) {
	for _, name := range peerdomapi.BuiltinFields {
		key, _ := peerdomapi.BuiltinKey(name)
		if p.cfg.Builtins == BuiltinsAsAttributes {
			i := slices.IndexFunc(rec.fields, func(f peerdomapi.CustomField) bool { return strings.EqualFold(f.Name, name) })
			if i >= 0 {
				rec.set(key, oneOrMany(rec.fields[i].Values))
				rec.fields = slices.Delete(rec.fields, i, i+1)
			}
			continue
		}
		if raw, ok := rec.attrs[key]; ok {
			values, _ := fieldValues(raw)
			rec.setField(name, values)
			delete(rec.attrs, key)
		}
	}
}

func oneOrMany(values []string) any {
	if len(values) == 1 {
		return values[0]
	}
	return values
}
