package peerdomtest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// The double's webhooks must read, through the real parser, as the events they stand for.
func TestWebhooksParseAsTheirEvents(t *testing.T) {
	s := peerdomtest.NewServer(peerdomtest.Config{Organization: "umbrella", OwnerName: "Jane Doe", OwnerEmail: "jane@example.com"})
	defer s.Close()
	c := s.Client()
	ctx := context.Background()
	group, err := c.Groups().Create(ctx, peerdomapi.GroupInput{Name: "R&D [core]", MapID: s.LiveMap().ID})
	if err != nil {
		t.Fatal(err)
	}
	role, err := c.Roles().Create(ctx, peerdomapi.RoleInput{Name: "Scribe_1", MapID: s.LiveMap().ID, ParentID: group.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{CustomFields: peerdomapi.CustomFieldValues{"Purpose": {"Notes"}, "Skills": {"Go", "SQL"}}}); err != nil {
		t.Fatal(err)
	}
	peer, err := c.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Peers().Update(ctx, peer.ID, peerdomapi.PeerInput{LastName: "King"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Peers().Delete(ctx, peer.ID); err != nil {
		t.Fatal(err)
	}
	texts := waitWebhooks(t, s)

	type want struct {
		detailType, entityID, name string
		changed                    []string
	}
	wants := []want{
		{"Group Created", group.ID, "R&D [core]", nil},
		{"Role Created", role.ID, "Scribe_1", nil},
		{"Role Updated", role.ID, "", []string{"Purpose", "Skills"}},
		{"Peer Created", peer.ID, "Ada Lovelace", nil},
		{"Peer Updated", peer.ID, "Ada King", []string{"Name"}},
		{"Peer Deleted", peer.ID, "Ada King", nil},
	}
	if len(texts) != len(wants) {
		t.Fatalf("webhooks = %d, want %d", len(texts), len(wants))
	}
	for i, w := range wants {
		d := peerdom.Parse(texts[i])
		if d.DetailType() != w.detailType || d.EntityID != w.entityID || d.Name != w.name ||
			d.Organization != "umbrella" || d.Author == nil || d.Author.Email != "jane@example.com" || d.Author.Name != "Jane Doe" ||
			!slices.Equal(d.ChangedFields, w.changed) && len(w.changed) > 0 {
			t.Errorf("webhook %d parsed as %s id=%q name=%q org=%q author=%+v changed=%v\ntext: %q",
				i, d.DetailType(), d.EntityID, d.Name, d.Organization, d.Author, d.ChangedFields, texts[i])
		}
	}
	upd := peerdom.Parse(texts[2])
	if len(upd.Changes) != 2 || upd.Changes[0].New != "Notes" || !slices.Equal(upd.Changes[1].Added, []string{"Go", "SQL"}) {
		t.Errorf("role update changes = %+v", upd.Changes)
	}
}
