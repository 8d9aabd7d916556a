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
	fields, filled := FillEmpty(role.CustomFields, rd.Defaults)
	Note(ctx, "filled", filled)
	if len(filled) == 0 {
		return nil // the desired state already holds: no write, so no webhook, so no loop
	}
	// Every custom field is sent, filled or not, so that the result is the same whether
	// Peerdom merges the list by name or replaces it.
	if _, err := rd.API.Roles().Update(ctx, role.ID, peerdomapi.Role{CustomFields: fields}); err != nil {
		return fmt.Errorf("role-defaults: filling %s on role %s: %w", strings.Join(filled, ", "), role.ID, err)
	}
	return nil
}

// FillEmpty returns the fields with each empty default filled in, and the names filled.
// Existing fields keep their position and spelling; missing ones are appended.
func FillEmpty(fields []peerdomapi.CustomField, defaults []FieldDefault) ([]peerdomapi.CustomField, []string) {
	out := make([]peerdomapi.CustomField, len(fields))
	copy(out, fields)
	filled := []string{}
	for _, d := range defaults {
		if !peerdomapi.FieldEmpty(out, d.Name) {
			continue
		}
		values := append([]string(nil), d.Values...)
		found := false
		for i := range out {
			if strings.EqualFold(strings.TrimSpace(out[i].Name), d.Name) {
				out[i].Values = values
				found = true
				break
			}
		}
		if !found {
			out = append(out, peerdomapi.CustomField{Name: d.Name, Values: values})
		}
		filled = append(filled, d.Name)
	}
	return out, filled
}
