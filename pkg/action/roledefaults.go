package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// RoleDefaults fills the configured custom fields of a new role that are still empty
// (ROLE_DEFAULTS). A field that has a value is never overwritten, so a role that already
// has them all is not written to.
//
// It makes no assumption on what docs/peerdom-api.md leaves open:
//   - built-in fields (Purpose, Accountabilities, Notes) inside customFields or as
//     attributes of their own: a field is read from wherever the API returns it and
//     written back there;
//   - a PUT's customFields merging with the stored ones or replacing them: an update
//     that sends customFields sends every custom field that has a value besides the
//     ones it fills, each exactly as the API returned it (a typed field keeps its type),
//     so both end the same; one that fills only built-in attributes sends none;
//   - parentId required on updates: the role's parentId is sent with it.
//
// After writing it reads the role again and fails when a filled field still reads
// empty, rather than writing again on every event that follows.
type RoleDefaults struct {
	API      *peerdomapi.Client
	Defaults []FieldDefault
}

// NewRoleDefaults checks the configuration.
func NewRoleDefaults(api *peerdomapi.Client, defaults []FieldDefault) (*RoleDefaults, error) {
	if len(defaults) == 0 {
		return nil, errors.New(`role-defaults: no defaults; set ROLE_DEFAULTS to a JSON object such as {"Purpose": "To be defined"}`)
	}
	return &RoleDefaults{API: api, Defaults: defaults}, nil
}

// Handle acts on Role Created.
func (rd *RoleDefaults) Handle(ctx context.Context, ev Event) error {
	if ev.DetailType != peerdom.DetailType(peerdom.EntityRole, peerdom.ActionCreated) {
		return Ignore("role-defaults acts on Role Created only")
	}
	role, err := ResolveRole(ctx, rd.API, ev.Detail)
	if err != nil {
		return err
	}
	Note(ctx, "roleId", role.ID)
	if _, missing := FillEmpty(role, rd.Defaults); len(missing) == 0 {
		Note(ctx, "filled", []string{})
		return nil // the desired state already holds: no write, so no webhook, so no loop
	}
	filled, err := rd.Fill(ctx, role.ID)
	Note(ctx, "filled", filled)
	return err
}

// Fill reads the role right before writing and fills the defaults that are still empty
// then, so that a change made since the event (by a person, or a concurrent run) is not
// overwritten. It returns the names it filled.
func (rd *RoleDefaults) Fill(ctx context.Context, roleID string) ([]string, error) {
	opts := peerdomapi.Options{CustomFields: true}
	role, err := rd.API.Roles().Get(ctx, roleID, opts)
	if err != nil {
		return nil, fmt.Errorf("role-defaults: reading role %s: %w", roleID, Gone("role "+roleID, err))
	}
	in, filled := FillEmpty(role, rd.Defaults)
	if len(filled) == 0 {
		return filled, nil
	}
	if _, err := rd.API.Roles().Update(ctx, roleID, in); err != nil {
		return nil, fmt.Errorf("role-defaults: filling %s on role %s: %w", strings.Join(filled, ", "), roleID, Gone("role "+roleID, err))
	}
	after, err := rd.API.Roles().Get(ctx, roleID, opts)
	if err != nil {
		return filled, fmt.Errorf("role-defaults: reading role %s after filling %s: %w", roleID, strings.Join(filled, ", "), err)
	}
	for _, name := range filled {
		if values, _ := after.Field(name); isBlank(values) {
			return filled, fmt.Errorf("role-defaults: filled %s on role %s, but the API still shows it empty: the field is written where the API does not read it", name, roleID)
		}
	}
	return filled, nil
}

// FillEmpty returns the update that fills each default still empty on the role, and the
// names it fills (none: nothing to write). The update carries every custom field that
// has a value, unchanged, so that it is right whether the API merges the custom fields
// it is sent or replaces them with those; a built-in field the API returns as an
// attribute is written as that attribute.
func FillEmpty(role peerdomapi.Role, defaults []FieldDefault) (peerdomapi.RoleInput, []string) {
	in := peerdomapi.RoleInput{ParentID: role.ParentID} // Pipedream always sends it: it may be required
	fields := peerdomapi.CustomFieldValues{}
	filled := []string{}
	for _, d := range defaults {
		values, where := role.Field(d.Name)
		if !isBlank(values) {
			continue
		}
		if where == peerdomapi.AsAttribute {
			if err := in.SetBuiltin(d.Name, d.Values); err != nil {
				continue // cannot happen: only built-in fields are attributes
			}
		} else {
			fields[spelling(role.CustomFields, d.Name)] = d.Values
		}
		filled = append(filled, d.Name)
	}
	if len(filled) == 0 {
		return peerdomapi.RoleInput{}, filled
	}
	if len(fields) > 0 {
		in.CustomFields = fields
		// The fields kept go back exactly as read (a number as a number, a list as an
		// array): whether the API merges or replaces a PUT's custom fields, they keep
		// their values, and a typed field is never turned into text it may refuse. When
		// only built-in attributes are filled, customFields is not sent at all.
		in.KeptFields = peerdomapi.KeptAsRead(role.CustomFields)
	}
	return in, filled
}

// spelling is the name a custom field has on the role (names compare ignoring case),
// else the configured one.
func spelling(fields []peerdomapi.CustomField, name string) string {
	for _, f := range fields {
		if strings.EqualFold(strings.TrimSpace(f.Name), strings.TrimSpace(name)) {
			return f.Name
		}
	}
	return name
}

func isBlank(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
