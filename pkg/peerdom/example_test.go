package peerdom_test

import (
	"encoding/json"
	"fmt"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func ExampleParse() {
	text := "**[Role](https://app.peerdom.org/acme/roles/9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66)** was updated\n\n" +
		"**Author:** Jane Doe (jane@example.com)\n\n" +
		"**Name:** Ops → Operations\n" +
		"**Skills:** [+] Go [-] Java\n" +
		"**Purpose:** Keep the lights on"
	d := peerdom.Parse(text)
	fmt.Println(d.DetailType(), "of", d.Name, "in", d.Organization, "by", d.Author.Email)
	fmt.Println("entity id:", d.EntityID)
	fmt.Println("changed:", d.ChangedFields)
	fmt.Println("purpose:", d.Fields.Get("Purpose"))

	// The detail's JSON is the event contract's (docs/contract.md).
	b, _ := json.Marshal(d.Changes)
	fmt.Println(string(b))
	// Output:
	// Role Updated of Operations in acme by jane@example.com
	// entity id: 9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66
	// changed: [Name Skills]
	// purpose: Keep the lights on
	// [{"field":"Name","old":"Ops","new":"Operations"},{"field":"Skills","added":["Go"],"removed":["Java"]}]
}
