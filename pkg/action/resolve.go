package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// ErrNoEntity: the event carries neither an entityId nor a name to look the entity up by.
var ErrNoEntity = errors.New("action: the event names no entity (no entityId and no name)")

// ErrEntityGone: the entity the event is about is no longer in Peerdom (its id answers
// 404, or no entity has its name any more): deleted, or renamed, since the webhook.
// Retrying cannot bring it back; the Runner logs the event as ignored with the reason.
var ErrEntityGone = errors.New("action: the entity is gone from Peerdom")

// goneError says which entity is gone; it matches ErrEntityGone and wraps the API's error.
type goneError struct {
	what string // e.g. `role 9c1e…` or `role named "Ops"`
	err  error
}

func (e *goneError) Error() string {
	return fmt.Sprintf("%s is gone from Peerdom (deleted since the webhook): %v", e.what, e.err)
}
func (e *goneError) Unwrap() error        { return e.err }
func (e *goneError) Is(target error) bool { return target == ErrEntityGone }

// Gone turns a 404 for the entity an event is about into ErrEntityGone (what names the
// entity, e.g. "role 9c1e…"); any other error is returned unchanged. Use it on the reads
// of that entity, not on entities from the configuration, whose 404 is a setting to fix.
func Gone(what string, err error) error {
	if errors.Is(err, peerdomapi.ErrNotFound) {
		return &goneError{what: what, err: err}
	}
	return err
}

// AmbiguousError: more than one entity has the event's name, and the event has no id.
// Acting on a guess could change the wrong role, so the event fails instead.
type AmbiguousError struct {
	Entity peerdom.Entity
	Name   string
	IDs    []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("action: %d %ss are named %q (%s) and the event has no entityId; refusing to guess",
		len(e.IDs), e.Entity, e.Name, strings.Join(e.IDs, ", "))
}

// ResolvePeer fetches the peer an event is about (custom fields included).
func ResolvePeer(ctx context.Context, api *peerdomapi.Client, d peerdom.Detail) (peerdomapi.Peer, error) {
	return resolve(ctx, api.Peers().Collection, d, peerdom.EntityPeer, func(p peerdomapi.Peer) (string, string) { return p.ID, p.FullName() })
}

// ResolveRole fetches the role an event is about (custom fields and holders included).
func ResolveRole(ctx context.Context, api *peerdomapi.Client, d peerdom.Detail) (peerdomapi.Role, error) {
	return resolve(ctx, api.Roles().Collection, d, peerdom.EntityRole, func(r peerdomapi.Role) (string, string) { return r.ID, r.Name })
}

// ResolveGroup fetches the group (circle) an event is about (custom fields included).
func ResolveGroup(ctx context.Context, api *peerdomapi.Client, d peerdom.Detail) (peerdomapi.Group, error) {
	return resolve(ctx, api.Groups().Collection, d, peerdom.EntityGroup, func(g peerdomapi.Group) (string, string) { return g.ID, g.Name })
}

// ResolveID finds the id of the entity an event is about, without fetching it when the
// event carries it.
func ResolveID(ctx context.Context, api *peerdomapi.Client, d peerdom.Detail) (string, error) {
	if d.EntityID != "" {
		return d.EntityID, nil
	}
	switch d.Entity {
	case peerdom.EntityPeer:
		p, err := ResolvePeer(ctx, api, d)
		return p.ID, err
	case peerdom.EntityRole:
		r, err := ResolveRole(ctx, api, d)
		return r.ID, err
	case peerdom.EntityGroup:
		g, err := ResolveGroup(ctx, api, d)
		return g.ID, err
	}
	return "", fmt.Errorf("action: the event is about no known entity (%q)", d.Entity)
}

// resolve takes the entity by id when the event has one, else looks it up by name (exact
// after trimming and folding case), refusing an ambiguous name.
func resolve[T any](ctx context.Context, res peerdomapi.Collection[T], d peerdom.Detail, want peerdom.Entity, key func(T) (id, name string)) (T, error) {
	var zero T
	if d.Entity != want {
		return zero, fmt.Errorf("action: the event is about a %q, not a %s", d.Entity, want)
	}
	opts := peerdomapi.Options{CustomFields: true}
	if d.EntityID != "" {
		v, err := res.Get(ctx, d.EntityID, opts)
		if err != nil {
			return zero, fmt.Errorf("action: fetching %s %s: %w", want, d.EntityID, Gone(string(want)+" "+d.EntityID, err))
		}
		return v, nil
	}
	name := normalName(d.Name)
	if name == "" {
		return zero, ErrNoEntity
	}
	var found []T
	var ids []string
	for v, err := range res.List(ctx, opts) {
		if err != nil {
			return zero, fmt.Errorf("action: looking up %s %q by name: %w", want, d.Name, err)
		}
		if id, n := key(v); normalName(n) == name {
			found = append(found, v)
			ids = append(ids, id)
		}
	}
	switch len(found) {
	case 0:
		return zero, &goneError{what: fmt.Sprintf("the %s named %q", want, d.Name), err: fmt.Errorf("no %s has that name: %w", want, peerdomapi.ErrNotFound)}
	case 1:
		return found[0], nil
	}
	return zero, &AmbiguousError{Entity: want, Name: d.Name, IDs: ids}
}

func normalName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
