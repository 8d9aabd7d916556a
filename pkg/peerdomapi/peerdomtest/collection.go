package peerdomtest

import (
	"encoding/json"
	"errors"
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

	// created checks and completes a new record; an error refuses it with 400.
	created func(rec *record) error
	// updated checks an updated record against the stored one and the request body.
	updated func(cur, next *record, body map[string]json.RawMessage) error
	// view adds what the API shows beyond the record (a role's holders).
	view func(rec *record, out map[string]json.RawMessage, r *http.Request)
	// listed says whether a list shows the record (peers: active ones only).
	listed func(rec *record, r *http.Request) (bool, error)
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
		type shown struct {
			ID         string            `json:"id,omitempty"`
			Name       string            `json:"name"`
			Values     []json.RawMessage `json:"values"`
			Definition json.RawMessage   `json:"definition,omitempty"`
		}
		fields := make([]shown, 0, len(rec.fields))
		for _, f := range rec.fields {
			typ, _ := definitionOf(f)
			values := []json.RawMessage{}
			for _, v := range f.Values {
				values = append(values, typedValue(typ, v))
			}
			fields = append(fields, shown{ID: f.ID, Name: f.Name, Values: values, Definition: f.Definition})
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
			ok, err := c.kind.listed(rec, r)
			if err != nil {
				c.p.mu.Unlock()
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			if !ok {
				continue
			}
		}
		shown = append(shown, rec)
	}
	lo, hi, err := c.p.page(r, len(shown))
	out := make([]map[string]json.RawMessage, 0, hi-lo)
	if err == nil {
		for _, rec := range shown[lo:hi] {
			out = append(out, c.view(rec, r))
		}
	}
	c.p.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
	bodies, many, err := readCreate(r, c.kind.batch)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	// All or nothing: every item is checked before any is stored.
	recs := make([]*record, len(bodies))
	for i, body := range bodies {
		rec := &record{attrs: map[string]json.RawMessage{}}
		err := c.apply(rec, body, MergeCustomFields)
		if err == nil {
			rec.set("id", peerdom.NewDeliveryID())
			err = c.kind.created(rec)
		}
		if err != nil {
			if many {
				err = fmt.Errorf("item %d: %w; nothing was created", i, err)
			}
			writeError(w, http.StatusBadRequest, err.Error())
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
func readCreate(r *http.Request, batch bool) (bodies []map[string]json.RawMessage, many bool, err error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, false, fmt.Errorf("reading the body: %w", err)
	}
	if batch && strings.HasPrefix(strings.TrimSpace(string(b)), "[") {
		if err := json.Unmarshal(b, &bodies); err != nil || len(bodies) == 0 || slices.ContainsFunc(bodies, func(m map[string]json.RawMessage) bool { return m == nil }) {
			return nil, true, errors.New("the body must be a JSON object or a non-empty array of objects")
		}
		return bodies, true, nil
	}
	obj, err := parseObject(b)
	return []map[string]json.RawMessage{obj}, false, err
}

func (c *collection[T]) update(w http.ResponseWriter, r *http.Request) {
	body, err := readObject(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
	if err := c.apply(next, body, c.p.cfg.PutCustomFields); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.kind.updated(cur, next, body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
	if c.p.cfg.EmptySuccessBodies {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, c.view(cur, r))
}

// apply sets the writable keys of a request body on a record; customFields must be an
// object keyed by field name. Called with p.mu held.
func (c *collection[T]) apply(rec *record, body map[string]json.RawMessage, fieldsMode PutCustomFields) error {
	asAttributes := c.kind.builtins && c.p.cfg.Builtins == BuiltinsAsAttributes
	for key, v := range body {
		switch {
		case key == "customFields":
			fields, err := customFieldsObject(v)
			if err != nil {
				return err
			}
			if c.p.cfg.TypedFieldsStrict {
				for _, f := range fields {
					if err := checkTyped(c.definition(rec, f.Name), f); err != nil {
						return err
					}
				}
			}
			if fieldsMode == ReplaceCustomFields {
				for i := range rec.fields {
					rec.fields[i].Values = nil
				}
			}
			for _, f := range fields {
				rec.setField(f.Name, f.Values)
				if def := c.definition(rec, f.Name); def != nil {
					rec.setDefinition(f.Name, def)
				}
			}
		case asAttributes && isBuiltinKey(key):
			if _, err := fieldValues(v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
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
	return nil
}

func isBuiltinKey(key string) bool {
	for _, name := range peerdomapi.BuiltinFields {
		if k, _ := peerdomapi.BuiltinKey(name); k == key {
			return true
		}
	}
	return false
}

// definitionOf is a stored field's definition type ("number", "boolean", "text", …; ""
// when untyped) and whether it is multi-entry.
func definitionOf(f peerdomapi.CustomField) (typ string, multi bool) {
	var d struct {
		Type       string `json:"type"`
		MultiEntry bool   `json:"multiEntry"`
	}
	_ = json.Unmarshal(f.Definition, &d)
	return strings.ToLower(d.Type), d.MultiEntry
}

// typedValue is a stored value as the API shows it: a number field's as a JSON number,
// a boolean field's as true or false, any other as a string.
func typedValue(typ, v string) json.RawMessage {
	switch typ {
	case "number":
		var n json.Number
		if json.Unmarshal([]byte(v), &n) == nil {
			return json.RawMessage(n.String())
		}
	case "boolean":
		if v == "true" || v == "false" {
			return json.RawMessage(v)
		}
	}
	b, _ := json.Marshal(v)
	return b
}

// definition is a custom field's definition, as Peerdom defines fields for the whole
// organization: the record's own, else that of a field of the same name on another
// record of the collection; nil when untyped. Called with p.mu held.
func (c *collection[T]) definition(rec *record, name string) json.RawMessage {
	for _, r := range append([]*record{rec}, c.all()...) {
		for _, f := range r.fields {
			if strings.EqualFold(f.Name, name) && len(f.Definition) > 0 {
				return f.Definition
			}
		}
	}
	return nil
}

func (r *record) setDefinition(name string, def json.RawMessage) {
	for i := range r.fields {
		if strings.EqualFold(r.fields[i].Name, name) {
			r.fields[i].Definition = def
		}
	}
}

// checkTyped refuses a write of a typed field in another shape than its own
// (Config.TypedFieldsStrict): text for a number or boolean, one value for a
// multi-entry field.
func checkTyped(def json.RawMessage, f writtenField) error {
	if def == nil {
		return nil
	}
	typ, multi := definitionOf(peerdomapi.CustomField{Definition: def})
	raw := strings.TrimSpace(string(f.raw))
	if raw == "null" || raw == `""` {
		return nil // clearing
	}
	var items []json.RawMessage
	isArray := json.Unmarshal(f.raw, &items) == nil
	if multi && !isArray {
		return fmt.Errorf("customFields[%q]: a multi-entry field takes an array", f.Name)
	}
	if !isArray {
		items = []json.RawMessage{f.raw}
	}
	for _, it := range items {
		var v any
		_ = json.Unmarshal(it, &v)
		switch v.(type) {
		case float64:
			if typ != "number" {
				return fmt.Errorf("customFields[%q]: a %s field does not take a number", f.Name, orText(typ))
			}
		case bool:
			if typ != "boolean" {
				return fmt.Errorf("customFields[%q]: a %s field does not take true or false", f.Name, orText(typ))
			}
		case string:
			if typ == "number" || typ == "boolean" {
				return fmt.Errorf("customFields[%q]: a %s field takes a JSON %s, not text", f.Name, typ, typ)
			}
		}
	}
	return nil
}

func orText(typ string) string {
	if typ == "" {
		return "text"
	}
	return typ
}

// writtenField is one entry of a request's customFields: its values as text, and as sent.
type writtenField struct {
	peerdomapi.CustomField
	raw json.RawMessage
}

// customFieldsObject reads a request's customFields: an object from field name to a
// string, number or boolean, or an array of them, in the order sent.
func customFieldsObject(v json.RawMessage) ([]writtenField, error) {
	const shape = `customFields must be an object keyed by field name, e.g. {"Office": "Zurich"}`
	dec := json.NewDecoder(strings.NewReader(string(v)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New(shape)
	}
	var out []writtenField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errors.New(shape)
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New(shape)
		}
		values, err := fieldValues(raw)
		if err != nil {
			return nil, fmt.Errorf("customFields[%q]: %w", name, err)
		}
		out = append(out, writtenField{CustomField: peerdomapi.CustomField{Name: name, Values: values}, raw: raw})
	}
	return out, nil
}

// fieldValues reads a written field value: a string, number or boolean, an array of
// them, or null; each value kept as text.
func fieldValues(raw json.RawMessage) ([]string, error) {
	scalar := func(it json.RawMessage) (string, bool) {
		var v any
		if json.Unmarshal(it, &v) != nil {
			return "", false
		}
		switch x := v.(type) {
		case string:
			return x, true
		case float64, bool:
			return strings.TrimSpace(string(it)), true
		}
		return "", false
	}
	if strings.TrimSpace(string(raw)) == "null" {
		return nil, nil
	}
	if one, ok := scalar(raw); ok {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) == nil {
		many := []string{}
		for _, it := range items {
			s, ok := scalar(it)
			if !ok {
				return nil, errors.New("a value must be a string, number or boolean, or an array of them")
			}
			many = append(many, s)
		}
		return many, nil
	}
	return nil, errors.New("a value must be a string, number or boolean, or an array of them")
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
