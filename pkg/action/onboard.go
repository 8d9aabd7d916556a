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
	assigned, held := []string{}, []string{}
	defer func() { Note(ctx, "assigned", assigned); Note(ctx, "alreadyHeld", held) }()
	for _, roleID := range o.RoleIDs {
		role, err := o.API.Roles().Get(ctx, roleID, peerdomapi.Options{})
		if err != nil {
			return fmt.Errorf("onboard-peer: reading onboarding role %s: %w", roleID, err)
		}
		if role.HeldBy(peer.ID) {
			held = append(held, roleID)
			continue
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
