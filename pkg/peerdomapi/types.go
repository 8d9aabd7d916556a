package peerdomapi

import "strings"

// CustomField is one custom field of a peer, role or group. Single-valued fields carry
// one value; list fields carry several. The API returns them only when asked
// (Options.CustomFields, which sends with=customfields).
type CustomField struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Peer is a person of the organization.
type Peer struct {
	ID               string        `json:"id,omitempty"`
	FirstName        string        `json:"firstName,omitempty"`
	LastName         string        `json:"lastName,omitempty"`
	NickName         string        `json:"nickName,omitempty"`
	Slug             string        `json:"slug,omitempty"`
	AvatarURL        string        `json:"avatarUrl,omitempty"`
	Birthdate        string        `json:"birthdate,omitempty"`
	Contribution     *float64      `json:"contribution,omitempty"`
	ContributionUnit string        `json:"contributionUnit,omitempty"`
	CustomFields     []CustomField `json:"customFields,omitempty"`
}

// FullName is the first and last name joined by a space, as Peerdom's webhooks name a peer.
func (p Peer) FullName() string {
	return strings.TrimSpace(strings.TrimSpace(p.FirstName) + " " + strings.TrimSpace(p.LastName))
}

// RoleHolder is a peer filling a role, as listed inside a role.
type RoleHolder struct {
	PeerID           string   `json:"peerId"`
	Contribution     *float64 `json:"contribution,omitempty"`
	ContributionUnit string   `json:"contributionUnit,omitempty"`
}

// Role is a role on a map. Creating one needs Name and MapID (and usually ParentID, the
// group it belongs to). Pointer booleans let an update leave them unchanged.
type Role struct {
	ID           string        `json:"id,omitempty"`
	Name         string        `json:"name,omitempty"`
	Color        string        `json:"color,omitempty"`
	CreatedAt    string        `json:"createdAt,omitempty"`
	ParentID     string        `json:"parentId,omitempty"`
	MapID        string        `json:"mapId,omitempty"`
	Slug         string        `json:"slug,omitempty"`
	External     *bool         `json:"external,omitempty"`
	Electable    *bool         `json:"electable,omitempty"`
	Shape        string        `json:"shape,omitempty"`
	CustomFields []CustomField `json:"customFields,omitempty"`
	Holders      []RoleHolder  `json:"holders,omitempty"`
	GroupEmail   string        `json:"groupEmail,omitempty"`
}

// HeldBy reports whether the peer is among the role's holders.
func (r Role) HeldBy(peerID string) bool {
	for _, h := range r.Holders {
		if h.PeerID == peerID {
			return true
		}
	}
	return false
}

// Group is a group (a circle): a role without holders. ParentID is empty on the root circle.
type Group struct {
	ID           string        `json:"id,omitempty"`
	Name         string        `json:"name,omitempty"`
	Color        string        `json:"color,omitempty"`
	CreatedAt    string        `json:"createdAt,omitempty"`
	ParentID     string        `json:"parentId,omitempty"`
	MapID        string        `json:"mapId,omitempty"`
	Slug         string        `json:"slug,omitempty"`
	External     *bool         `json:"external,omitempty"`
	Electable    *bool         `json:"electable,omitempty"`
	Shape        string        `json:"shape,omitempty"`
	CustomFields []CustomField `json:"customFields,omitempty"`
	GroupEmail   string        `json:"groupEmail,omitempty"`
}

// Holder is one role assignment: a peer filling a role.
type Holder struct {
	ID         string   `json:"id,omitempty"`
	RoleID     string   `json:"roleId,omitempty"`
	PeerID     string   `json:"peerId,omitempty"`
	Percentage *float64 `json:"percentage,omitempty"`
	Focus      string   `json:"focus,omitempty"`
}

// Map is one map of the organization; Draft is false on the live map.
type Map struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Draft bool   `json:"draft"`
}

// Assignment is the body of "assign a peer to a role" (POST /roles/{id}/peers).
type Assignment struct {
	PeerID     string   `json:"peerId"`
	Percentage *float64 `json:"percentage,omitempty"`
	Focus      string   `json:"focus,omitempty"`
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
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
