package awsaction_test

import (
	"context"
	"fmt"

	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// tagCircle writes the name of a new role's circle into the role's "Circle" custom
// field. docs/actions.md ("Write your own action") shows this function, word for word, in a
// whole main.go; TestDocsActionIsTheTestedOne holds the two together.
func tagCircle(api *peerdomapi.Client) action.Handler {
	return action.HandlerFunc(func(ctx context.Context, ev action.Event) error {
		role, err := action.ResolveRole(ctx, api, ev.Detail) // by entityId, else by name
		if err != nil {
			return err // EventBridge retries, then dead-letters
		}
		if !peerdomapi.FieldEmpty(role.CustomFields, "Circle") {
			return nil // already done: no write, so no webhook, so no loop
		}
		circle, err := api.Groups().Get(ctx, role.ParentID, peerdomapi.Options{})
		if err != nil {
			return err
		}
		// Writes take custom fields as an object by name. Send the fields to keep
		// with the change: the API may replace the custom fields a PUT names.
		fields := peerdomapi.KeptValues(role.CustomFields)
		fields["Circle"] = []string{circle.Name}
		_, err = api.Roles().Update(ctx, role.ID, peerdomapi.RoleInput{ParentID: role.ParentID, CustomFields: fields})
		return err
	})
}

// The docs' tag-circle action against the Peerdom double: the event comes twice, as
// EventBridge may deliver it, and the field is written once.
func Example_tagCircle() {
	s := peerdomtest.NewServer(peerdomtest.Config{Organization: "acme"})
	defer s.Close()
	circle := s.AddGroup(peerdomapi.Group{Name: "Platform"})
	role := s.AddRole(peerdomapi.Role{Name: "Scribe", ParentID: circle.ID})

	r := &action.Runner{Name: "tag-circle", Handler: tagCircle(s.Client()), Logger: logging.Discard()}
	ev := action.Event{ID: "ev-1", Source: "peerdom", DetailType: "Role Created",
		Detail: peerdom.Detail{ID: "d-1", Entity: "role", Action: "created", EntityID: role.ID, Name: "Scribe"}}
	for range 2 {
		if err := r.Run(context.Background(), ev); err != nil {
			fmt.Println("error:", err)
		}
	}
	got, _ := s.Role(role.ID)
	for _, f := range got.CustomFields {
		fmt.Println(f.Name, f.Values)
	}
	fmt.Println("writes:", len(s.Writes()))
	// Output:
	// Circle [Platform]
	// writes: 1
}
