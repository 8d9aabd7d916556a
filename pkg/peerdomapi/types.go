package peerdomapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Read shapes: what the API answers. Each keeps the keys it has no field for in Extra
// (a later API version's additions, an undocumented attribute), and writes them back
// when encoded, so a decoded object loses nothing.

// CustomField is one custom field of a peer, role or group as the API returns it
// (only when asked: Options.CustomFields sends with=customfields). Single-valued fields
// carry one value; list fields carry several.
type CustomField struct {
	ID     string   `json:"id,omitempty"` // API 0.6.0
	Name   string   `json:"name"`
	Values []string `json:"values"`
	// Definition is the field's definition as sent (0.6.0: id, name, type, translation,
	// multiEntry), kept as JSON: its inner types are not documented.
	Definition json.RawMessage `json:"definition,omitempty"`
	// raw are the values as the API sent them (a number field's as numbers), for
	// writing the field back as it was (see KeptAsRead).
	raw []json.RawMessage
}

// MultiEntry reports whether the field's definition says it holds several values.
func (f CustomField) MultiEntry() bool {
	var d struct {
		MultiEntry bool `json:"multiEntry"`
	}
	_ = json.Unmarshal(f.Definition, &d)
	return d.MultiEntry
}

// Type is the field's definition type as sent (API 0.6.0), "" when it has none.
func (f CustomField) Type() string {
	var d struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(f.Definition, &d)
	return d.Type
}

// UnmarshalJSON decodes a custom field tolerantly: a value that is not a string (a
// number, a boolean, an object) is kept as its JSON text instead of failing the whole
// entity, a null value is dropped, and a lone value not in an array counts as one.
func (f *CustomField) UnmarshalJSON(data []byte) error {
	var raw struct {
		ID         json.RawMessage `json:"id"`
		Name       string          `json:"name"`
		Values     json.RawMessage `json:"values"`
		Definition json.RawMessage `json:"definition"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*f = CustomField{Name: raw.Name, ID: jsonText(raw.ID), Definition: raw.Definition}
	if isNull(raw.Definition) {
		f.Definition = nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw.Values, &items); err != nil {
		items = []json.RawMessage{raw.Values} // not an array: one value
	}
	for _, it := range items {
		if !isNull(it) {
			f.Values = append(f.Values, jsonText(it))
			f.raw = append(f.raw, it)
		}
	}
	return nil
}

// jsonText is a JSON string's content, or any other JSON value's compact text.
func jsonText(v json.RawMessage) string {
	if isNull(v) {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(v))
}

func isNull(v json.RawMessage) bool {
	s := strings.TrimSpace(string(v))
	return s == "" || s == "null"
}

// Peer is a person of the organization, as the API returns it.
type Peer struct {
	ID               string                     `json:"id,omitempty"`
	FirstName        string                     `json:"firstName,omitempty"`
	LastName         string                     `json:"lastName,omitempty"`
	NickName         string                     `json:"nickName,omitempty"`
	Slug             string                     `json:"slug,omitempty"`
	AvatarURL        string                     `json:"avatarUrl,omitempty"`
	Birthdate        string                     `json:"birthdate,omitempty"`
	Contribution     *float64                   `json:"contribution,omitempty"`
	ContributionUnit string                     `json:"contributionUnit,omitempty"`
	CustomFields     []CustomField              `json:"customFields,omitempty"`
	JoinedAt         string                     `json:"joinedAt,omitempty"` // API 0.6.0
	LeftAt           string                     `json:"leftAt,omitempty"`   // API 0.6.0: set on a former peer
	Roles            []PeerRole                 `json:"roles,omitempty"`    // API 0.6.0, with=roles
	Extra            map[string]json.RawMessage `json:"-"`
}

// RolesShown reports whether the read carried the peer's roles (with=roles, API 0.6.0).
func (p Peer) RolesShown() bool { return p.Roles != nil }

// Fills reports whether the peer's roles (RolesShown) include the role.
func (p Peer) Fills(roleID string) bool {
	for _, r := range p.Roles {
		if r.ID == roleID {
			return true
		}
	}
	return false
}

// PeerRole is a role a peer fills, as listed inside the peer (API 0.6.0).
type PeerRole struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

type peerFields Peer

func (p *Peer) UnmarshalJSON(data []byte) error {
	extra, err := decodeKeepingExtra(data, (*peerFields)(p))
	p.Extra = extra
	return err
}

func (p Peer) MarshalJSON() ([]byte, error) { return encodeWithExtra(peerFields(p), p.Extra) }

// FullName is the first and last name joined by a space, as Peerdom's webhooks name a peer.
func (p Peer) FullName() string {
	return strings.TrimSpace(strings.TrimSpace(p.FirstName) + " " + strings.TrimSpace(p.LastName))
}

// Former reports whether the peer has left the organization (LeftAt is set and not in
// the future). Lists leave former peers out unless Options.IncludeFormer is set.
func (p Peer) Former(now time.Time) bool {
	if p.LeftAt == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, p.LeftAt)
	return err != nil || !t.After(now) // an unreadable date still says the peer left
}

// RoleHolder is a peer filling a role, as listed inside the role ("holders"). It is the
// only place the API shows assignments: the /holders endpoints were removed.
type RoleHolder struct {
	PeerID           string   `json:"peerId"`
	Contribution     *float64 `json:"contribution,omitempty"`
	ContributionUnit string   `json:"contributionUnit,omitempty"`
}

// Role is a role as the API returns it. The documented sample has no mapId: a role's map
// is not part of its answer.
type Role struct {
	ID           string        `json:"id,omitempty"`
	Name         string        `json:"name,omitempty"`
	Color        string        `json:"color,omitempty"`
	CreatedAt    string        `json:"createdAt,omitempty"`
	ParentID     string        `json:"parentId,omitempty"`
	Slug         string        `json:"slug,omitempty"`
	External     *bool         `json:"external,omitempty"`
	Electable    *bool         `json:"electable,omitempty"`
	Mirrored     *bool         `json:"mirrored,omitempty"`
	Shape        string        `json:"shape,omitempty"`
	CustomFields []CustomField `json:"customFields,omitempty"`
	Holders      []RoleHolder  `json:"holders,omitempty"`
	GroupEmail   string        `json:"groupEmail,omitempty"`
	// Extra holds the other keys: salaryLevel, goals (types undocumented), and built-in
	// fields (Purpose, …) if the API returns them as attributes (see Role.Field).
	Extra map[string]json.RawMessage `json:"-"`
}

type roleFields Role

func (r *Role) UnmarshalJSON(data []byte) error {
	extra, err := decodeKeepingExtra(data, (*roleFields)(r))
	r.Extra = extra
	return err
}

func (r Role) MarshalJSON() ([]byte, error) { return encodeWithExtra(roleFields(r), r.Extra) }

// HoldersShown reports whether the read carried the role's holders at all (a
// "holders" key, even empty): whether a read of one role carries them is unverified.
func (r Role) HoldersShown() bool { return r.Holders != nil }

// HeldBy reports whether the peer is among the role's holders.
func (r Role) HeldBy(peerID string) bool {
	for _, h := range r.Holders {
		if h.PeerID == peerID {
			return true
		}
	}
	return false
}

// Field returns the values of a custom or built-in field, wherever the API returns it:
// see fieldOf.
func (r Role) Field(name string) (values []string, where FieldPlace) {
	return fieldOf(r.CustomFields, r.Extra, name)
}

// Group is a circle as the API returns it (Peerdom's webhooks call it a circle, the
// event contract a group). ParentID is empty on the root circle.
type Group struct {
	ID           string                     `json:"id,omitempty"`
	Name         string                     `json:"name,omitempty"`
	Color        string                     `json:"color,omitempty"`
	CreatedAt    string                     `json:"createdAt,omitempty"`
	ParentID     string                     `json:"parentId,omitempty"`
	Slug         string                     `json:"slug,omitempty"`
	External     *bool                      `json:"external,omitempty"`
	Electable    *bool                      `json:"electable,omitempty"`
	Shape        string                     `json:"shape,omitempty"`
	CustomFields []CustomField              `json:"customFields,omitempty"`
	GroupEmail   string                     `json:"groupEmail,omitempty"`
	Extra        map[string]json.RawMessage `json:"-"`
}

type groupFields Group

func (g *Group) UnmarshalJSON(data []byte) error {
	extra, err := decodeKeepingExtra(data, (*groupFields)(g))
	g.Extra = extra
	return err
}

func (g Group) MarshalJSON() ([]byte, error) { return encodeWithExtra(groupFields(g), g.Extra) }

// Field is Role.Field for a circle.
func (g Group) Field(name string) (values []string, where FieldPlace) {
	return fieldOf(g.CustomFields, g.Extra, name)
}

// Map is one map of the organization; Draft is false on the live map.
type Map struct {
	ID    string                     `json:"id,omitempty"`
	Name  string                     `json:"name,omitempty"`
	Draft bool                       `json:"draft"`
	Extra map[string]json.RawMessage `json:"-"`
}

type mapFields Map

func (m *Map) UnmarshalJSON(data []byte) error {
	extra, err := decodeKeepingExtra(data, (*mapFields)(m))
	m.Extra = extra
	return err
}

func (m Map) MarshalJSON() ([]byte, error) { return encodeWithExtra(mapFields(m), m.Extra) }

// Built-in fields. Roles have Purpose, Accountabilities and Notes (Peerdom's help pages);
// whether the API returns them inside customFields or as attributes of their own is
// unverified, so reads look in both places and writes go where the read found them.

// BuiltinFields are the names of the built-in fields.
var BuiltinFields = []string{"Purpose", "Accountabilities", "Notes"}

// BuiltinKey is the attribute a built-in field would have outside customFields
// ("Purpose" → "purpose"), and false for a name that is not a built-in field.
func BuiltinKey(name string) (string, bool) {
	for _, b := range BuiltinFields {
		if strings.EqualFold(strings.TrimSpace(name), b) {
			return strings.ToLower(b[:1]) + b[1:], true
		}
	}
	return "", false
}

// FieldPlace says where a field was found.
type FieldPlace int

const (
	// FieldAbsent: in neither place.
	FieldAbsent FieldPlace = iota
	// InCustomFields: an entry of customFields.
	InCustomFields
	// AsAttribute: a built-in field returned as an attribute of its own ("purpose").
	AsAttribute
)

// fieldOf finds a field among the custom fields, else (for a built-in field) among the
// attributes. A custom field with a value wins over an empty attribute and the other
// way round, so that neither placement hides a value.
func fieldOf(fields []CustomField, extra map[string]json.RawMessage, name string) ([]string, FieldPlace) {
	cf, inCF := FieldValues(fields, name)
	if !isEmpty(cf) {
		return cf, InCustomFields
	}
	if key, ok := BuiltinKey(name); ok {
		if raw, ok := extra[key]; ok {
			return attributeValues(raw), AsAttribute
		}
	}
	if inCF {
		return cf, InCustomFields
	}
	return nil, FieldAbsent
}

// attributeValues reads a built-in attribute: a string, an array of values, or null.
func attributeValues(raw json.RawMessage) []string {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		items = []json.RawMessage{raw}
	}
	var out []string
	for _, it := range items {
		if s := jsonText(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isEmpty(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// FieldValues returns the values of the named custom field (names compare
// case-insensitively, as people type them in configuration) and whether it is present.
func FieldValues(fields []CustomField, name string) ([]string, bool) {
	for _, f := range fields {
		if strings.EqualFold(strings.TrimSpace(f.Name), strings.TrimSpace(name)) {
			return f.Values, true
		}
	}
	return nil, false
}

// FieldEmpty reports whether the named custom field is absent or has no non-blank value.
func FieldEmpty(fields []CustomField, name string) bool {
	values, _ := FieldValues(fields, name)
	return isEmpty(values)
}

// Write shapes: what a create or update sends. They differ from the read shapes where
// the API does: custom fields are an object keyed by field name, not the answer's array;
// a peer's share is "percentage", not "contribution". Empty fields are left out, so an
// update (PUT with a partial body) changes only what is set.

// CustomFieldValues are custom fields to write, by field name. A field with one value
// is sent as a string (the documented shape); one with several as an array of strings
// (how list fields are written is cut off in the docs: unverified); one with none as ""
// (clearing it).
type CustomFieldValues map[string][]string

func (v CustomFieldValues) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(v))
	for name, values := range v {
		switch len(values) {
		case 0:
			out[name] = ""
		case 1:
			out[name] = values[0]
		default:
			out[name] = values
		}
	}
	return json.Marshal(out)
}

// KeptValues are the custom fields that have a value, as a write. Send them along with
// a change: whether the API merges a PUT's custom fields with the stored ones or
// replaces them (unverified), the fields then keep their values. A value that was not a
// string goes back as its text.
func KeptValues(fields []CustomField) CustomFieldValues {
	out := CustomFieldValues{}
	for _, f := range fields {
		if !isEmpty(f.Values) {
			out[f.Name] = f.Values
		}
	}
	return out
}

// KeptAsRead are the custom fields that have a value, each as the API sent it: a
// number field's values as numbers, a multi-entry field's (or one with several values)
// as an array, any other's one value alone. Sent along with a change, they keep their
// values whether the API merges a PUT's custom fields with the stored ones or replaces
// them (unverified), without being turned into text a typed field may refuse.
func KeptAsRead(fields []CustomField) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, f := range fields {
		if isEmpty(f.Values) {
			continue
		}
		raw := f.raw
		if len(raw) != len(f.Values) { // made in Go, not decoded: the text values
			raw = nil
			for _, v := range f.Values {
				b, _ := json.Marshal(v)
				raw = append(raw, b)
			}
		}
		if len(raw) == 1 && !f.MultiEntry() {
			out[f.Name] = raw[0]
			continue
		}
		b, _ := json.Marshal(raw)
		out[f.Name] = b
	}
	return out
}

// PeerInput creates or updates a peer. A create needs FirstName.
type PeerInput struct {
	FirstName    string            `json:"firstName,omitempty"`
	LastName     string            `json:"lastName,omitempty"`
	NickName     string            `json:"nickName,omitempty"`
	Birthdate    string            `json:"birthdate,omitempty"`
	Percentage   *int              `json:"percentage,omitempty"`
	CustomFields CustomFieldValues `json:"customFields,omitempty"`
}

// RoleInput creates or updates a role. A create needs Name and MapID, and usually
// ParentID (the circle).
type RoleInput struct {
	Name         string            `json:"name,omitempty"`
	MapID        string            `json:"mapId,omitempty"`
	ParentID     string            `json:"parentId,omitempty"`
	Electable    *bool             `json:"electable,omitempty"`
	External     *bool             `json:"external,omitempty"`
	Color        string            `json:"color,omitempty"`
	Shape        string            `json:"shape,omitempty"` // "circle" or "hexagon"
	GroupEmail   string            `json:"groupEmail,omitempty"`
	CustomFields CustomFieldValues `json:"customFields,omitempty"`
	// KeptFields are custom fields sent back as they were read (see KeptAsRead), in the
	// same customFields object; a name also in CustomFields takes that value.
	KeptFields map[string]json.RawMessage `json:"-"`
	// Attributes are further keys sent as they are: built-in fields where the API keeps
	// them as attributes (see SetBuiltin), goals.
	Attributes map[string]json.RawMessage `json:"-"`
}

type roleInputFields RoleInput

func (in RoleInput) MarshalJSON() ([]byte, error) {
	if len(in.KeptFields) > 0 {
		merged := map[string]json.RawMessage{}
		for k, v := range in.KeptFields {
			merged[k] = v
		}
		if len(in.CustomFields) > 0 {
			b, err := json.Marshal(in.CustomFields)
			if err != nil {
				return nil, err
			}
			var set map[string]json.RawMessage
			if err := json.Unmarshal(b, &set); err != nil {
				return nil, err
			}
			for k, v := range set {
				for old := range merged {
					if strings.EqualFold(old, k) {
						delete(merged, old)
					}
				}
				merged[k] = v
			}
		}
		b, err := json.Marshal(merged)
		if err != nil {
			return nil, err
		}
		in.CustomFields = nil
		body, err := encodeWithExtra(roleInputFields(in), in.Attributes)
		if err != nil {
			return nil, err
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal(body, &all); err != nil {
			return nil, err
		}
		all["customFields"] = b
		return json.Marshal(all)
	}
	return encodeWithExtra(roleInputFields(in), in.Attributes)
}

// SetBuiltin sets a built-in field as an attribute of its own ("purpose"): a string for
// one value, an array for several. It fails for a name that is not a built-in field.
func (in *RoleInput) SetBuiltin(name string, values []string) error {
	key, ok := BuiltinKey(name)
	if !ok {
		return fmt.Errorf("peerdom api: %q is not a built-in field (%s)", name, strings.Join(BuiltinFields, ", "))
	}
	var v any = values
	if len(values) == 1 {
		v = values[0]
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if in.Attributes == nil {
		in.Attributes = map[string]json.RawMessage{}
	}
	in.Attributes[key] = b
	return nil
}

// GroupInput creates or updates a circle; its fields are a role's.
type GroupInput = RoleInput

// Assignment is the body of "assign a peer to a role" (POST /roles/{id}/peers).
type Assignment struct {
	PeerID       string `json:"peerId"`
	Percentage   *int   `json:"percentage,omitempty"`   // 0–100
	Focus        string `json:"focus,omitempty"`        //
	ElectedUntil string `json:"electedUntil,omitempty"` // YYYY-MM-DD
}

func (a Assignment) check() error {
	if strings.TrimSpace(a.PeerID) == "" {
		return fmt.Errorf("peerdom api: an assignment needs a peerId")
	}
	if a.Percentage != nil && (*a.Percentage < 0 || *a.Percentage > 100) {
		return fmt.Errorf("peerdom api: assignment percentage %d is outside 0–100", *a.Percentage)
	}
	if a.ElectedUntil != "" {
		if _, err := time.Parse(time.DateOnly, a.ElectedUntil); err != nil {
			return fmt.Errorf("peerdom api: assignment electedUntil %q is not a date (YYYY-MM-DD)", a.ElectedUntil)
		}
	}
	return nil
}
