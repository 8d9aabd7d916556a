package peerdomtest_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func ExampleNewServer() {
	s := peerdomtest.NewServer(peerdomtest.Config{Organization: "acme", OwnerName: "Peerbridge Bot", OwnerEmail: "bot@acme.example"})
	defer s.Close()
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada", LastName: "Lovelace"}) // seeded: no webhook, no write
	scribe := s.AddRole(peerdomapi.Role{Name: "Scribe"})

	api := s.Client() // a peerdomapi.Client for s.URL with the server's key
	ctx := context.Background()
	if err := api.AssignPeer(ctx, scribe.ID, peerdomapi.Assignment{PeerID: ada.ID}); err != nil {
		log.Fatal(err)
	}
	role, err := api.Roles().Get(ctx, scribe.ID, peerdomapi.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("held by Ada:", role.HeldBy(ada.ID))

	// Strict: what the API refuses, the double refuses, with Peerdom's {"message"}.
	_, err = api.Peers().Create(ctx, peerdomapi.PeerInput{LastName: "Hopper"})
	fmt.Println(err)

	// Every write is recorded, and sends a webhook as Peerdom does.
	for _, w := range s.Writes() {
		fmt.Println("write:", w.Method, strings.ReplaceAll(w.Path, scribe.ID, "{roleId}"), "by", w.Author)
	}
	if err := s.WaitWebhooks(ctx); err != nil {
		log.Fatal(err)
	}
	ids := strings.NewReplacer(s.LiveMap().ID, "{mapId}", scribe.ID, "{roleId}")
	fmt.Println(ids.Replace(s.Webhooks()[0]))
	// Output:
	// held by Ada: true
	// peerdom api: POST /v1/peers: 400 Bad Request: firstName is required
	// write: POST /roles/{roleId}/peers by bot@acme.example
	// **[Role](https://app.peerdom.org/acme/map/{mapId}/role/{roleId})** was updated
	//
	// **Author:** Peerbridge Bot (bot@acme.example)
	//
	// **Peers:** [+] Ada Lovelace
}

// A client is tested under each behaviour of the API that is not verified.
func ExampleAlternatives() {
	for _, alt := range peerdomtest.Alternatives() {
		cfg := peerdomtest.Config{}
		alt.Apply(&cfg)
		s := peerdomtest.NewServer(cfg)
		role := s.AddRole(peerdomapi.Role{Name: "Scribe", CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Notes"}}}})
		got, _ := s.Client().Roles().Get(context.Background(), role.ID, peerdomapi.Options{CustomFields: true})
		purpose, where := got.Field("Purpose")
		fmt.Printf("%s: Purpose %q found %s\n", alt.Name, purpose, map[peerdomapi.FieldPlace]string{peerdomapi.InCustomFields: "in customFields", peerdomapi.AsAttribute: "as an attribute"}[where])
		s.Close()
	}
	// Output:
	// defaults: Purpose ["Notes"] found in customFields
	// built-in fields as attributes: Purpose ["Notes"] found as an attribute
	// PUT replaces custom fields: Purpose ["Notes"] found in customFields
	// built-ins as attributes, PUT replaces: Purpose ["Notes"] found as an attribute
	// parentId required: Purpose ["Notes"] found in customFields
	// assignment answered {}: Purpose ["Notes"] found in customFields
	// assignment answered with text: Purpose ["Notes"] found in customFields
	// assignment answered with an odd body: Purpose ["Notes"] found in customFields
	// empty bodies on success: Purpose ["Notes"] found in customFields
	// offset ignored by roles, circles and maps: Purpose ["Notes"] found in customFields
	// paging ignored by every list: Purpose ["Notes"] found in customFields
	// circles at /groups only: Purpose ["Notes"] found in customFields
	// circles at /circles only: Purpose ["Notes"] found in customFields
	// role read without holders: Purpose ["Notes"] found in customFields
	// typed custom fields refused as text: Purpose ["Notes"] found in customFields
	// typed fields strict, PUT replaces: Purpose ["Notes"] found in customFields
	// API moved (301 to another base): Purpose ["Notes"] found in customFields
	// no root circle: Purpose ["Notes"] found in customFields
}
