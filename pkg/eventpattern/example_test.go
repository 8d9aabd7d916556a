package eventpattern_test

import (
	"fmt"

	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// Compile each rule's pattern once, decode each event once, then match the decoded event
// against every rule.
func Example() {
	rules := map[string]string{
		"onboard": `{"source":["peerdom"],"detail-type":["Peer Created"]}`,
		"roles":   `{"detail":{"entity":["role"],"action":[{"anything-but":"deleted"}]}}`,
		"audit":   `{"detail":{"author":{"email":[{"suffix":"@acme.example"}]}}}`,
	}
	compiled := map[string]*eventpattern.Pattern{}
	for name, text := range rules {
		p, err := eventpattern.Compile([]byte(text))
		if err != nil {
			fmt.Println(name, err)
			return
		}
		compiled[name] = p
	}

	event, err := eventpattern.DecodeEvent([]byte(`{
		"source": "peerdom", "detail-type": "Role Updated",
		"detail": {"entity": "role", "action": "updated", "author": {"email": "ops@acme.example"}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"onboard", "roles", "audit"} {
		fmt.Printf("%s: %v\n", name, compiled[name].MatchEvent(event))
	}

	_, err = eventpattern.Compile([]byte(`{"detail":{"count":[{"numeric":[">"]}]}}`))
	fmt.Println(err != nil)
	// Output:
	// onboard: false
	// roles: true
	// audit: true
	// true
}
