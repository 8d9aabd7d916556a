// Package entity reads Peerdom API objects as Peerdom's messages name their fields, and
// compares two states of one entity: what reconciliation (internal/reconcile) publishes
// as the changes no webhook reported, and what the webhook path records of a change
// (internal/state's MergeReported use).
package entity

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// APIField maps an attribute of an API object to the field name Peerdom's messages use.
type APIField struct {
	Attribute string // the API's key, e.g. "firstName"
	Field     string // the message's field name, e.g. "First name"
	// ID: the attribute is an entity's id, reported by that entity's name (a role's
	// parentId is its circle).
	ID bool
}

// HoldersField is the field that lists a role's holders, by peer name.
const HoldersField = "Holders"

// apiFields is the one table of API attribute → message field name, per entity, in the
// order reconciliation reports changes. Custom fields follow under their own names.
var apiFields = map[peerdom.Entity][]APIField{
	peerdom.EntityPeer: {
		{Attribute: "firstName", Field: "First name"},
		{Attribute: "lastName", Field: "Last name"},
		{Attribute: "nickName", Field: "Nickname"},
		{Attribute: "birthdate", Field: "Birthdate"},
		// A peer who left (API 0.6.0: leftAt, listed with includeFormer): no message is
		// known to name it; "Left" is the date the peer left, "" while active.
		{Attribute: "leftAt", Field: "Left"},
	},
	peerdom.EntityRole: {
		{Attribute: "name", Field: "Name"},
		{Attribute: "parentId", Field: "Circle", ID: true},
		{Attribute: "color", Field: "Color"},
		{Attribute: "shape", Field: "Shape"},
		{Attribute: "groupEmail", Field: "Group email"},
		// Built-in fields, when the API returns them as attributes rather than custom fields.
		{Attribute: "purpose", Field: "Purpose"},
		{Attribute: "accountabilities", Field: "Accountabilities"},
		{Attribute: "notes", Field: "Notes"},
	},
	peerdom.EntityGroup: {
		{Attribute: "name", Field: "Name"},
		{Attribute: "parentId", Field: "Parent circle", ID: true},
		{Attribute: "color", Field: "Color"},
		{Attribute: "shape", Field: "Shape"},
		{Attribute: "groupEmail", Field: "Group email"},
		{Attribute: "purpose", Field: "Purpose"},
		{Attribute: "accountabilities", Field: "Accountabilities"},
		{Attribute: "notes", Field: "Notes"},
	},
}

// APIFields returns the mapping table of an entity (a copy).
func APIFields(e peerdom.Entity) []APIField { return slices.Clone(apiFields[e]) }

// FieldValue is one field of an entity as a message would name it. List is true for a
// multi-entry custom field and a role's holders: their changes are list changes.
type FieldValue struct {
	Name   string
	Values []string
	List   bool
}

// Object is an API object reduced to what reconciliation compares: its fields named as
// Peerdom's messages name them, in a stable order.
type Object struct {
	Entity peerdom.Entity
	ID     string
	Name   string
	Fields []FieldValue
}

// NameOf tells an entity's name by its id (a peer for holders, a circle for parentId);
// "" when unknown, and the id is reported instead.
type NameOf func(id string) string

// ObjectOf reads an API object (its JSON, as GET returns it with custom fields) into an
// Object. nameOf may be nil.
func ObjectOf(e peerdom.Entity, raw json.RawMessage, nameOf NameOf) (Object, error) {
	table, ok := apiFields[e]
	if !ok {
		return Object{}, fmt.Errorf("peerdom: no fields known for entity %q", e)
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &attrs); err != nil {
		return Object{}, fmt.Errorf("peerdom: reading %s object: %w", e, err)
	}
	name := func(id string) string {
		if nameOf != nil {
			if n := nameOf(id); n != "" {
				return n
			}
		}
		return id
	}
	o := Object{Entity: e, ID: jsonString(attrs["id"])}
	seen := map[string]bool{}
	for _, f := range table {
		v := jsonString(attrs[f.Attribute])
		if v != "" && f.ID {
			v = name(v)
		}
		var values []string
		if v != "" {
			values = []string{v}
		}
		// A built-in field without a value is left to customFields, where the API may keep it.
		if v != "" || !isBuiltin(f.Attribute) {
			o.Fields = append(o.Fields, FieldValue{Name: f.Field, Values: values})
			seen[f.Field] = true
		}
	}
	var custom []struct {
		Name       string            `json:"name"`
		Values     []json.RawMessage `json:"values"`
		Definition struct {
			MultiEntry bool `json:"multiEntry"`
		} `json:"definition"`
	}
	if raw, ok := attrs["customFields"]; ok {
		_ = json.Unmarshal(raw, &custom) // an unreadable list counts as none
	}
	var cfs []FieldValue
	for _, c := range custom {
		name := strings.TrimSpace(c.Name)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		var values []string
		for _, v := range c.Values {
			if s := strings.TrimSpace(jsonString(v)); s != "" {
				values = append(values, s)
			}
		}
		cfs = append(cfs, FieldValue{Name: name, Values: values, List: c.Definition.MultiEntry || len(values) > 1})
	}
	slices.SortFunc(cfs, func(a, b FieldValue) int { return cmp.Compare(a.Name, b.Name) })
	o.Fields = append(o.Fields, cfs...)
	if e == peerdom.EntityRole {
		var holders []struct {
			PeerID string `json:"peerId"`
		}
		_ = json.Unmarshal(attrs["holders"], &holders)
		var names []string
		for _, h := range holders {
			names = append(names, name(h.PeerID))
		}
		slices.Sort(names)
		o.Fields = append(o.Fields, FieldValue{Name: HoldersField, Values: names, List: true})
	}
	if e == peerdom.EntityPeer {
		o.Name = strings.TrimSpace(o.value("First name") + " " + o.value("Last name"))
	} else {
		o.Name = o.value("Name")
	}
	return o, nil
}

func isBuiltin(attr string) bool {
	return attr == "purpose" || attr == "accountabilities" || attr == "notes"
}

// jsonString is a JSON string's content, a number's or boolean's text, "" for null.
func jsonString(v json.RawMessage) string {
	s := strings.TrimSpace(string(v))
	if s == "" || s == "null" {
		return ""
	}
	var str string
	if json.Unmarshal(v, &str) == nil {
		return str
	}
	var list []string
	if json.Unmarshal(v, &list) == nil {
		return strings.Join(list, ", ")
	}
	return s
}

func (o *Object) field(name string) (FieldValue, bool) {
	for _, f := range o.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldValue{}, false
}

func (o *Object) value(name string) string {
	f, _ := o.field(name)
	return strings.Join(f.Values, ", ")
}

// fields are the object's fields with a value, as a created or deleted message lists them.
func (o *Object) fields() peerdom.Fields {
	var out peerdom.Fields
	for _, f := range o.Fields {
		if len(f.Values) > 0 {
			out = append(out, peerdom.Field{Name: f.Name, Value: strings.Join(f.Values, ", ")})
		}
	}
	return out
}

// Changes are the differences between two states of one entity, one per field that
// differs, in the after state's field order (fields only before come last): list fields
// as list changes, others as scalar changes.
func Changes(before, after *Object) []peerdom.Change {
	var out []peerdom.Change
	names := make([]string, 0, len(after.Fields)+len(before.Fields))
	for _, f := range after.Fields {
		names = append(names, f.Name)
	}
	for _, f := range before.Fields {
		if _, ok := after.field(f.Name); !ok {
			names = append(names, f.Name)
		}
	}
	for _, name := range names {
		o, _ := before.field(name)
		n, _ := after.field(name)
		if o.List || n.List {
			added := subtract(n.Values, o.Values)
			removed := subtract(o.Values, n.Values)
			if len(added)+len(removed) > 0 {
				out = append(out, peerdom.Change{Field: name, IsList: true, Added: added, Removed: removed})
			}
			continue
		}
		if ov, nv := strings.Join(o.Values, ", "), strings.Join(n.Values, ", "); ov != nv {
			out = append(out, peerdom.Change{Field: name, Old: ov, New: nv})
		}
	}
	return out
}

// subtract is the items of a not in b, in a's order, each as often as it is missing.
func subtract(a, b []string) []string {
	left := slices.Clone(b)
	var out []string
	for _, v := range a {
		if i := slices.Index(left, v); i >= 0 {
			left = slices.Delete(left, i, i+1)
			continue
		}
		out = append(out, v)
	}
	return out
}

// Difference is one change reconciliation found: before is nil for a created entity,
// after nil for a deleted one.
type Difference struct {
	Before, After *Object
}

// ReconcileDetail is the event detail of a difference (docs/contract.md), and false when
// the two states do not differ. id is the difference's stable id (see DifferenceID).
func ReconcileDetail(id string, foundAt time.Time, organization string, diff Difference) (peerdom.Detail, bool) {
	d := peerdom.Detail{ID: id, Origin: peerdom.OriginReconcile, ReceivedAt: foundAt, Organization: organization,
		Fields: peerdom.Fields{}, Changes: []peerdom.Change{}, ChangedFields: []string{}}
	var obj *Object
	switch {
	case diff.Before == nil && diff.After == nil:
		return peerdom.Detail{}, false
	case diff.Before == nil:
		obj, d.Action = diff.After, peerdom.ActionCreated
		d.Fields = obj.fields()
	case diff.After == nil:
		obj, d.Action = diff.Before, peerdom.ActionDeleted
		d.Fields = obj.fields()
	default:
		obj, d.Action = diff.After, peerdom.ActionUpdated
		d.Changes = Changes(diff.Before, diff.After)
		if len(d.Changes) == 0 {
			return peerdom.Detail{}, false
		}
		for _, c := range d.Changes {
			d.ChangedFields = append(d.ChangedFields, c.Field)
		}
	}
	if d.Fields == nil {
		d.Fields = peerdom.Fields{}
	}
	d.Entity, d.EntityID, d.Name = obj.Entity, obj.ID, obj.Name
	return d, true
}

// DifferenceID is the stable id of a difference: a UUID (version 8, RFC 9562) derived
// from the entity and the hashes of the two states, so a retried run that finds the same
// difference publishes the same id and consumers de-duplicate it as any detail.id.
func DifferenceID(e peerdom.Entity, entityID, beforeHash, afterHash string) string {
	return peerdom.DerivedID("peerbridge reconcile", string(e), entityID, beforeHash, afterHash)
}

// messageAliases are field names Peerdom's messages use for what the table names
// otherwise: a peer's "Name" is its first and last name, a role's "Peers" its holders.
var messageAliases = map[peerdom.Entity]map[string][]string{
	peerdom.EntityPeer: {"Name": {"firstName", "lastName"}},
	peerdom.EntityRole: {"Peers": {"holders"}, HoldersField: {"holders"}},
}

// Attributes are the API attributes a message's field stands for (the table's, an
// alias's), and nil for a custom field or a field the table does not know.
func Attributes(e peerdom.Entity, field string) []string {
	if attrs, ok := messageAliases[e][field]; ok {
		return attrs
	}
	for _, f := range apiFields[e] {
		if f.Field == field {
			return []string{f.Attribute}
		}
	}
	return nil
}

// MergeReported is the stored API object with the fields a webhook reported taken from
// a later read: what the bus has been told of the entity, no more. Reconciliation then
// finds exactly the changes no webhook reported, even when a reported change's read
// also shows an unreported one. A field is an attribute of the table (or an alias), else
// a custom field of that name.
func MergeReported(e peerdom.Entity, stored, read json.RawMessage, fields []string) (json.RawMessage, error) {
	var s, r map[string]json.RawMessage
	if err := json.Unmarshal(stored, &s); err != nil {
		return nil, fmt.Errorf("peerdom: stored %s: %w", e, err)
	}
	if err := json.Unmarshal(read, &r); err != nil {
		return nil, fmt.Errorf("peerdom: read %s: %w", e, err)
	}
	if s == nil {
		s = map[string]json.RawMessage{}
	}
	for _, field := range fields {
		for _, a := range Attributes(e, field) {
			if v, ok := r[a]; ok {
				s[a] = v
			} else {
				delete(s, a)
			}
		}
	}
	// Every field is also looked for among the custom fields: built-in fields (Purpose)
	// may be either.
	if len(fields) > 0 {
		var sf, rf []map[string]json.RawMessage
		_ = json.Unmarshal(s["customFields"], &sf)
		_ = json.Unmarshal(r["customFields"], &rf)
		name := func(m map[string]json.RawMessage) string { return strings.TrimSpace(jsonString(m["name"])) }
		for _, field := range fields {
			sf = slices.DeleteFunc(sf, func(m map[string]json.RawMessage) bool { return name(m) == field })
			for _, m := range rf {
				if name(m) == field {
					sf = append(sf, m)
				}
			}
		}
		b, err := json.Marshal(sf)
		if err != nil {
			return nil, err
		}
		s["customFields"] = b
	}
	return json.Marshal(s)
}
