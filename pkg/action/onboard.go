package action

import (
	"context"
	"errors"
	"fmt"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// OnboardPeer assigns every new peer to the onboarding roles (ONBOARDING_ROLE_IDS).
// A role the peer already holds is left alone, so a redelivered Peer Created assigns
// nothing twice.
type OnboardPeer struct {
	API     *peerdomapi.Client
	RoleIDs []string
}

// NewOnboardPeer checks the configuration.
func NewOnboardPeer(api *peerdomapi.Client, roleIDs []string) (*OnboardPeer, error) {
	if len(roleIDs) == 0 {
		return nil, errors.New("onboard-peer: no onboarding roles; set ONBOARDING_ROLE_IDS to comma-separated role ids")
	}
	return &OnboardPeer{API: api, RoleIDs: roleIDs}, nil
}

// Handle acts on Peer Created.
func (o *OnboardPeer) Handle(ctx context.Context, ev Event) error {
	if ev.DetailType != peerdom.DetailType(peerdom.EntityPeer, peerdom.ActionCreated) {
		return Ignore("onboard-peer acts on Peer Created only")
	}
	peer, err := ResolvePeer(ctx, o.API, ev.Detail)
	if err != nil {
		return err
	}
	Note(ctx, "peerId", peer.ID)
	// Who holds a role is read both ways: whether a read of one role carries its holders
	// is unverified, while a peer's read with=roles lists the roles it fills (API 0.6.0).
	// The peer is read once, before the first assignment.
	withRoles, err := o.API.Peers().Get(ctx, peer.ID, peerdomapi.Options{PeerRoles: true})
	if err != nil {
		return fmt.Errorf("onboard-peer: reading peer %s with its roles: %w", peer.ID, Gone("peer "+peer.ID, err))
	}
	assigned, held := []string{}, []string{}
	defer func() { Note(ctx, "assigned", assigned); Note(ctx, "alreadyHeld", held) }()
	for _, roleID := range o.RoleIDs {
		role, err := o.API.Roles().Get(ctx, roleID, peerdomapi.Options{})
		if err != nil {
			return fmt.Errorf("onboard-peer: reading onboarding role %s: %w", roleID, err)
		}
		if role.HeldBy(peer.ID) || withRoles.Fills(roleID) {
			held = append(held, roleID)
			continue
		}
		if !role.HoldersShown() && !withRoles.RolesShown() {
			// Neither read says who holds the role: assigning could hold it twice.
			return fmt.Errorf("onboard-peer: cannot tell whether peer %s holds role %s: neither the role's read carries holders nor the peer's read (with=roles) its roles; nothing assigned", peer.ID, roleID)
		}
		// A failure here leaves the roles done so far assigned; the retry finds them held.
		// Nothing is read from the answer (its body is undocumented): the role's holders,
		// read before, are what says whether the peer holds it.
		if err := o.API.AssignPeer(ctx, roleID, peerdomapi.Assignment{PeerID: peer.ID}); err != nil {
			return fmt.Errorf("onboard-peer: assigning peer %s to role %s: %w", peer.ID, roleID, err)
		}
		assigned = append(assigned, roleID)
	}
	return nil
}
