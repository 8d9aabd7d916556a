// Package webhooksamples holds sample Peerdom webhook texts, one for each kind of
// message: every entity (role, group, peer) with every action (created, updated,
// deleted), and the message Peerdom's Test URL button sends. They are written the way
// docs/contract.md describes Peerdom's messages (like the shared corpus), for
// `peerbridge send`, tests and the local pipeline. It imports only the standard library.
package webhooksamples

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Test is the kind of the Test URL button's message, which peerbridge does not
// recognize: it becomes an "Unrecognized Message" event.
const Test = "test"

// The ids of the entities the samples are about (a sandbox Peerdom seeds them, so that
// actions on the samples find their entity).
const (
	RoleID  = "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66" // the role "Facilitator"
	GroupID = "5d7e1c3b-2a4f-4b6e-9c8d-7e6f5a4b3c2d" // the group "Research"
	PeerID  = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" // the peer Ada Lovelace
)

// Links into the sample organization "acme"; each entity link ends in the entity's id.
const (
	mapURL   = "https://app.peerdom.org/acme/map/3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11"
	roleURL  = mapURL + "/role/" + RoleID
	groupURL = mapURL + "/circle/" + GroupID
	peerURL  = mapURL + "/peer/" + PeerID
	author   = "**Author:** Jane Doe (jane@example.com)"
)

var kinds = []string{
	"role-created", "role-updated", "role-deleted",
	"group-created", "group-updated", "group-deleted",
	"peer-created", "peer-updated", "peer-deleted",
	Test,
}

var texts = map[string]string{
	"role-created": "**[Role](" + roleURL + ")** was created\n\n" + author + "\n\n" +
		"**Name:** Facilitator\n**Map:** Main map\n**Purpose:** Meetings that end on time, with decisions",
	"role-updated": "**[Role](" + roleURL + ")** was updated\n\n" + author + "\n\n" +
		"**Name:** Facilitator → Lead Facilitator\n**Skills:** [+] Moderation [-] Note taking",
	"role-deleted": "**[Role](" + roleURL + ")** was deleted\n\n" + author + "\n\n" +
		"**Name:** Lead Facilitator\n**Map:** Main map",

	"group-created": "**[Group](" + groupURL + ")** was created\n\n" + author + "\n\n" +
		"**Name:** Research\n**Map:** Main map\n**Purpose:** Explore",
	"group-updated": "**[Group](" + groupURL + ")** was updated\n\n" + author + "\n\n" +
		"**Purpose:** Explore → Explore new markets",
	// Deleted by the system (a cascade): no author line.
	"group-deleted": "**[Group](" + groupURL + ")** was deleted\n\n" +
		"**Name:** Research\n**Map:** Main map",

	"peer-created": "**[Peer](" + peerURL + ")** was created\n\n**Author:** ops@acme.example\n\n" +
		"**First name:** Ada\n**Last name:** Lovelace\n**Map:** Main map",
	"peer-updated": "**[Peer](" + peerURL + ")** was updated\n\n" + author + "\n\n" +
		"**Nickname:** Ada → Countess\n**Location:** London → Zurich\n**Languages:** [+] French, [+] Italian",
	"peer-deleted": "**[Peer](" + peerURL + ")** was deleted\n\n" + author + "\n\n" +
		"**Name:** Ada Lovelace\n**Map:** Main map",

	Test: "Hello from Peerdom! If you can read this, your webhook endpoint works.",
}

// Kinds lists the sample kinds: "role-created" … "peer-deleted" (entity, then action),
// then Test. The slice is a copy.
func Kinds() []string { return append([]string(nil), kinds...) }

// Get returns the Markdown text of a kind's sample.
func Get(kind string) (text string, ok bool) {
	text, ok = texts[kind]
	return text, ok
}

// Body returns the webhook body Peerdom would POST for a kind: {"text": "<sample>"}.
func Body(kind string) ([]byte, bool) {
	text, ok := texts[kind]
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(struct {
		Text string `json:"text"`
	}{text})
	if err != nil { // a string always marshals
		panic(err)
	}
	return b, true
}

// LessThanRun is a role-created text whose Purpose is a run of n '<': the event carries
// the run twice (text and field), and the bus takes it as it is, one byte a '<' (a
// detail's JSON is not HTML-escaped). 45 KB of them fit the bus.
func LessThanRun(n int) string {
	return strings.Replace(texts["role-created"], "**Purpose:** Meetings that end on time, with decisions",
		"**Purpose:** "+strings.Repeat("<", n), 1)
}

// EventTooLargeForBus is a body under the 100 KiB body limit whose event would not fit
// the bus's 256 KB: a role-created text whose Purpose is ~88 KB of "a" and U+2028 (LINE
// SEPARATOR, 3 bytes raw, which JSON always writes as a 6-byte escape), carried twice.
func EventTooLargeForBus() []byte {
	text := strings.Replace(texts["role-created"], "**Purpose:** Meetings that end on time, with decisions",
		"**Purpose:** "+strings.Repeat("a\u2028", 22000)+"a", 1)
	// encoding/json escapes U+2028 here too; Peerdom's sender may not: send it raw.
	return bytes.ReplaceAll(BodyOf(text), []byte(`\u2028`), []byte("\u2028"))
}

// BodyOf is the webhook body {"text": text}, with <, > and & as they are (encoding/json
// would send each as a 6-byte escape).
func BodyOf(text string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Text string `json:"text"`
	}{text}); err != nil { // a string always encodes
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
