package peerdom

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fieldsOf builds fields from name, value pairs as Parse files them: a name given again keeps
// its place and takes the new value.
func fieldsOf(kv ...string) Fields {
	fields := Fields{}
	for i := 0; i+1 < len(kv); i += 2 {
		if j := slices.IndexFunc(fields, func(f Field) bool { return f.Name == kv[i] }); j >= 0 {
			fields[j].Value = kv[i+1]
			continue
		}
		fields = append(fields, Field{kv[i], kv[i+1]})
	}
	return fields
}

func scalar(field, old, new string) Change { return Change{Field: field, Old: old, New: new} }

func list(field string, added, removed []string) Change {
	return Change{Field: field, IsList: true, Added: added, Removed: removed}
}

// parseRuleTest is a case of TestParseRules: want.Text is filled in from the input; nil
// collections mean empty.
type parseRuleTest struct {
	name string
	text string
	want Detail
}

// parseRuleTests has a case for each rule of docs/contract.md, beyond the shared corpus.
// The JSON encoder's differential test encodes their details too.
func parseRuleTests() []parseRuleTest {
	const org = "https://app.peerdom.org/acme/roles/ops"
	return []parseRuleTest{
		// Header: entity and action words, case-insensitive, decoration ignored.
		{"plain header without link", "Role was created\n\n**Name:** Ops",
			Detail{Entity: EntityRole, Action: ActionCreated, Name: "Ops", Fields: fieldsOf("Name", "Ops")}},
		{"circle is group, modified is updated", "**[Circle](https://app.peerdom.org/acme/circles/x)** was modified",
			Detail{Entity: EntityGroup, Action: ActionUpdated, URL: "https://app.peerdom.org/acme/circles/x", Organization: "acme"}},
		{"member added, emoji and underscores", "🎉 _Member_ __added__\n**Name:** Ada",
			Detail{Entity: EntityPeer, Action: ActionCreated, Name: "Ada", Fields: fieldsOf("Name", "Ada")}},
		{"upper case words", "ROLE WAS DELETED\n**Name:** Ops",
			Detail{Entity: EntityRole, Action: ActionDeleted, Name: "Ops", Fields: fieldsOf("Name", "Ops")}},
		{"edited", "Group edited", Detail{Entity: EntityGroup, Action: ActionUpdated}},
		{"changed", "Peer changed", Detail{Entity: EntityPeer, Action: ActionUpdated}},
		{"removed", "Peer removed", Detail{Entity: EntityPeer, Action: ActionDeleted}},
		{"label exactly an entity word wins", "**[Peer](" + org + ")** was added to a role",
			Detail{Entity: EntityPeer, Action: ActionCreated, URL: org, Organization: "acme"}},
		{"first entity word outside the label", "The role [Ops Group](" + org + ") was edited",
			Detail{Entity: EntityRole, Action: ActionUpdated, URL: org, Organization: "acme"}},
		{"entity only in the label gives the name", "**[Group: Sales](https://app.peerdom.org/acme/g)** changed",
			Detail{Entity: EntityGroup, Action: ActionUpdated, Name: "Sales", URL: "https://app.peerdom.org/acme/g", Organization: "acme"}},
		{"label that is a name", "Role **[Ops lead](" + org + ")** was updated",
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "Ops lead", URL: org, Organization: "acme"}},
		{"link title is not part of the url", "[Role](" + org + ` "Open in Peerdom") was created`,
			Detail{Entity: EntityRole, Action: ActionCreated, URL: org, Organization: "acme"}},
		{"angle-bracket link target", "[Role](<" + org + ">) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: org, Organization: "acme"}},
		{"header after leading blank lines", "\n  \n\t\nRole was created", Detail{Entity: EntityRole, Action: ActionCreated}},

		// Unrecognized: nothing but the text, even with fields below.
		{"Peerdom is not the word peer", "Hello from Peerdom! Settings were updated", Detail{}},
		{"entity without action", "**[Role](" + org + ")**\n\n**Name:** Ops", Detail{}},
		{"action without entity", "Something was deleted\n**Author:** Jane (j@x.io)", Detail{}},
		{"words inside the url do not count", "**[Ops](https://app.peerdom.org/acme/map/1/role/2)** was updated", Detail{}},
		{"plural is not the word", "Roles were updated", Detail{}},

		// Field lines.
		{"colon outside the bold", "Role created\n**Name**: Ops\n**Map** :  Main map ",
			Detail{Entity: EntityRole, Action: ActionCreated, Name: "Ops", Fields: fieldsOf("Name", "Ops", "Map", "Main map")}},
		{"names and values trimmed", "Role created\n  ** Name :**   Ops  \n**Purpose:**",
			Detail{Entity: EntityRole, Action: ActionCreated, Name: "Ops", Fields: fieldsOf("Name", "Ops", "Purpose", "")}},
		{"continuation lines joined with newline", "Role created\n**Purpose:** Keep\nthe lights\n  on  \n**Map:** Main",
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Purpose", "Keep\nthe lights\n  on", "Map", "Main")}},
		{"continuation with CRLF", "Role created\r\n**Purpose:** Keep\r\nthe lights on\r\n",
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Purpose", "Keep\nthe lights on")}},
		{"blank line ends a value", "Role created\n**Purpose:** Keep\n\nfooter text",
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Purpose", "Keep")}},
		{"bold text that is not a field continues", "Role created\n**Purpose:** Keep\n**really** on",
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Purpose", "Keep\n**really** on")}},
		{"text before any field is not a field", "Role created\nsome words\n**Name:** Ops",
			Detail{Entity: EntityRole, Action: ActionCreated, Name: "Ops", Fields: fieldsOf("Name", "Ops")}},
		{"author line ends a value and is not continued", "Role created\n**Name:** Ops\n**Author:** Jane Doe (jane@x.io)\nmore",
			Detail{Entity: EntityRole, Action: ActionCreated, Name: "Ops", Fields: fieldsOf("Name", "Ops"), Author: &Author{Name: "Jane Doe", Email: "jane@x.io"}}},

		// Author.
		{"author bare email", "Role created\n**Author:** ops@acme.io",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Email: "ops@acme.io"}}},
		{"author name only", "Role created\n**Author:** Peerdom System",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Name: "Peerdom System"}}},
		{"author colon outside bold", "Role created\n**Author**: Jane (jane@x.io)",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Name: "Jane", Email: "jane@x.io"}}},
		{"author last parenthesized part with @", "Role created\n**Author:** Jane (Ops) Doe (jane@x.io)",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Name: "Jane (Ops) Doe", Email: "jane@x.io"}}},
		{"author email as markdown link", "Role created\n**Author:** Jane Doe ([jane@x.io](mailto:jane@x.io))",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Name: "Jane Doe", Email: "jane@x.io"}}},
		{"author bare markdown link", "Role created\n**Author:** [jane@x.io](mailto:jane@x.io)",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Email: "jane@x.io"}}},
		{"author autolink", "Role created\n**Author:** Jane Doe (<jane@x.io>)",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Name: "Jane Doe", Email: "jane@x.io"}}},
		{"author bare autolink", "Role created\n**Author:** <jane@x.io>",
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Email: "jane@x.io"}}},
		{"author escaped name", `Role created` + "\n" + `**Author:** Jane \_Doe\_ (jane@x.io)`,
			Detail{Entity: EntityRole, Action: ActionCreated, Author: &Author{Name: "Jane _Doe_", Email: "jane@x.io"}}},
		{"empty author line", "Role created\n**Author:**", Detail{Entity: EntityRole, Action: ActionCreated}},

		// Updated messages: scalar and list changes.
		{"ascii arrow", "Role updated\n**Name:** Ops -> Operations",
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "Operations", Changes: []Change{scalar("Name", "Ops", "Operations")}, ChangedFields: []string{"Name"}}},
		{"unicode arrow wins over ascii arrow", "Role updated\n**Purpose:** a -> b → c",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("Purpose", "a -> b", "c")}, ChangedFields: []string{"Purpose"}}},
		{"split at the first arrow", "Role updated\n**Purpose:** a → b → c",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("Purpose", "a", "b → c")}, ChangedFields: []string{"Purpose"}}},
		{"empty new side", "Role updated\n**Purpose:** Keep →",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("Purpose", "Keep", "")}, ChangedFields: []string{"Purpose"}}},
		{"empty value of an update is a field", "Role updated\n**Purpose:**\n**Name:** A → B",
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "B", Fields: fieldsOf("Purpose", ""), Changes: []Change{scalar("Name", "A", "B")}, ChangedFields: []string{"Name"}}},
		{"ascii arrow opening the value", "Role updated\n**Purpose:** ->Run",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("Purpose", "", "Run")}, ChangedFields: []string{"Purpose"}}},
		{"> and → look-alikes are not arrows", "Role updated\n**Purpose:** a > b - c >= d \u2191 e → f",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("Purpose", "a > b - c >= d \u2191 e", "f")}, ChangedFields: []string{"Purpose"}}},
		{"brackets that are not markers", "Role updated\n**Purpose:** [x] [+ [-x] [] [+",
			Detail{Entity: EntityRole, Action: ActionUpdated, Fields: fieldsOf("Purpose", "[x] [+ [-x] [] [+")}},
		{"a marker after bracketed text", "Role updated\n**Purpose:** [x] [[-] y",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{list("Purpose", []string{}, []string{"y"})}, ChangedFields: []string{"Purpose"}}},
		{"multi-line scalar change", "Role updated\n**Purpose:** Keep\nthe lights → Run\nthe show",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("Purpose", "Keep\nthe lights", "Run\nthe show")}, ChangedFields: []string{"Purpose"}}},
		{"list items on bulleted lines", "Peer updated\n**Skills:**\n- [+] Go\n* [-] Java;\n- [+] Rust,",
			Detail{Entity: EntityPeer, Action: ActionUpdated, Changes: []Change{list("Skills", []string{"Go", "Rust"}, []string{"Java"})}, ChangedFields: []string{"Skills"}}},
		{"list items on one line with separators", "Peer updated\n**Skills:** [-] Java; [+] Go, [+] C++ - [-] Perl",
			Detail{Entity: EntityPeer, Action: ActionUpdated, Changes: []Change{list("Skills", []string{"Go", "C++"}, []string{"Java", "Perl"})}, ChangedFields: []string{"Skills"}}},
		{"list only removals", "Peer updated\n**Skills:** [-] Java",
			Detail{Entity: EntityPeer, Action: ActionUpdated, Changes: []Change{list("Skills", []string{}, []string{"Java"})}, ChangedFields: []string{"Skills"}}},
		{"list item holding an arrow stays a list", "Role updated\n**Steps:** [+] plan → do",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{list("Steps", []string{"plan → do"}, []string{})}, ChangedFields: []string{"Steps"}}},
		{"non-change field of an update goes to fields", "Role updated\n**Map:** Main map\n**Name:** A → B",
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "B", Fields: fieldsOf("Map", "Main map"), Changes: []Change{scalar("Name", "A", "B")}, ChangedFields: []string{"Name"}}},
		{"changes keep message order", "Role updated\n**B:** 1 → 2\n**A:** [+] x\n**C:** 3 -> 4",
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{scalar("B", "1", "2"), list("A", []string{"x"}, []string{}), scalar("C", "3", "4")}, ChangedFields: []string{"B", "A", "C"}}},
		{"created keeps arrows and markers as fields", "Role created\n**Purpose:** a → b\n**Skills:** [+] Go",
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Purpose", "a → b", "Skills", "[+] Go")}},
		{"deleted keeps arrows as fields", "Role deleted\n**Purpose:** a -> b",
			Detail{Entity: EntityRole, Action: ActionDeleted, Fields: fieldsOf("Purpose", "a -> b")}},

		// Escapes are removed from names, values, author and label; other Markdown kept.
		{"escapes removed, markdown kept", `Role created` + "\n" + `**Na\*me:** \[Ops\] *lead* \_x\_` + "\n" + `**Link:** [doc](https://x.io)`,
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Na*me", "[Ops] *lead* _x_", "Link", "[doc](https://x.io)")}},
		{"escapes removed in change sides and list items", `Role updated` + "\n" + `**Name:** A\_1 → B\_2` + "\n" + `**Tags:** [+] \#ops`,
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "B_2", Changes: []Change{scalar("Name", "A_1", "B_2"), list("Tags", []string{"#ops"}, []string{})}, ChangedFields: []string{"Name", "Tags"}}},
		// Markers and arrows are looked for after the escapes are removed, as a generator
		// that escapes every bracket or every > writes them.
		{"escaped list markers are markers", "**Peer** was updated\n\n**Author:** Jane Doe (jane@example.com)\n\n" +
			`**Languages:** \[+\] French, \[+\] Italian \[-\] German`,
			Detail{Entity: EntityPeer, Action: ActionUpdated, Author: &Author{Name: "Jane Doe", Email: "jane@example.com"},
				Changes: []Change{list("Languages", []string{"French", "Italian"}, []string{"German"})}, ChangedFields: []string{"Languages"}}},
		{"escaped markers in a bulleted list over lines", "**Role** was updated\n\n**Author:** Jane Doe (jane@example.com)\n\n" +
			"**Skills:**\n" + `- \[+\] Moderation` + "\n" + `- \[-\] Note taking` + "\n" + `* \[+\] C\+\+`,
			Detail{Entity: EntityRole, Action: ActionUpdated, Author: &Author{Name: "Jane Doe", Email: "jane@example.com"},
				Changes: []Change{list("Skills", []string{"Moderation", "C++"}, []string{"Note taking"})}, ChangedFields: []string{"Skills"}}},
		{"escaped arrow is an arrow", "**Peer** was updated\n\n**Author:** Jane Doe (jane@example.com)\n\n" +
			`**Nickname:** Ada \-> Countess` + "\n" + `**Name:** Ops \_1 \-\> Ops \_2`,
			Detail{Entity: EntityPeer, Action: ActionUpdated, Name: "Ops _2", Author: &Author{Name: "Jane Doe", Email: "jane@example.com"},
				Changes: []Change{scalar("Nickname", "Ada", "Countess"), scalar("Name", "Ops _1", "Ops _2")}, ChangedFields: []string{"Nickname", "Name"}}},
		{"an escaped marker opening a value makes a list even with an arrow in it", "Role updated\n" + `**Purpose:** \[+\] a \-> b`,
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{list("Purpose", []string{"a -> b"}, []string{})}, ChangedFields: []string{"Purpose"}}},
		{"created keeps escaped markers and arrows as text", "Role created\n" + `**Skills:** \[+\] Go \-> Rust`,
			Detail{Entity: EntityRole, Action: ActionCreated, Fields: fieldsOf("Skills", "[+] Go -> Rust")}},
		{"an item is unescaped once", "Role updated\n" + `**Tags:** \[+\] a\\\*b`,
			Detail{Entity: EntityRole, Action: ActionUpdated, Changes: []Change{list("Tags", []string{`a\*b`}, []string{})}, ChangedFields: []string{"Tags"}}},
		{"escaped label name", `[Role: Ops \& Co](https://app.peerdom.org/acme/r) was updated`,
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "Ops & Co", URL: "https://app.peerdom.org/acme/r", Organization: "acme"}},

		// URL: organization and entityId.
		{"organization on bare peerdom.org with port", "[Role](https://peerdom.org:443/org-1?x=1) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: "https://peerdom.org:443/org-1?x=1", Organization: "org-1"}},
		{"no organization off peerdom.org", "[Role](https://evilpeerdom.org/acme) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: "https://evilpeerdom.org/acme"}},
		{"no organization for a look-alike host", "[Role](https://peerdom.org.example.com/acme) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: "https://peerdom.org.example.com/acme"}},
		{"no organization without a path segment", "[Role](https://app.peerdom.org/) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: "https://app.peerdom.org/"}},
		{"last uuid lower-cased", "[Role](https://app.peerdom.org/acme/map/3F2B6A1E-9C4D-4E8A-B1F0-2A7C5D9E8B11/role/9C1E7D2A-4B3F-4A6E-8D2C-1F0E9B8A7C66?tab=1) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: "https://app.peerdom.org/acme/map/3F2B6A1E-9C4D-4E8A-B1F0-2A7C5D9E8B11/role/9C1E7D2A-4B3F-4A6E-8D2C-1F0E9B8A7C66?tab=1",
				Organization: "acme", EntityID: "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66"}},
		{"no uuid inside a longer hex run", "[Role](https://x.io/a9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66) was created",
			Detail{Entity: EntityRole, Action: ActionCreated, URL: "https://x.io/a9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66"}},

		// Name derivation.
		{"updated without name change takes the label name", "[Role: Ops](" + org + ") was updated\n**Purpose:** a → b",
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "Ops", URL: org, Organization: "acme", Changes: []Change{scalar("Purpose", "a", "b")}, ChangedFields: []string{"Purpose"}}},
		{"updated name change beats the label", "[Role: Ops](" + org + ") was updated\n**Name:** Ops → Operations",
			Detail{Entity: EntityRole, Action: ActionUpdated, Name: "Operations", URL: org, Organization: "acme", Changes: []Change{scalar("Name", "Ops", "Operations")}, ChangedFields: []string{"Name"}}},
		{"created name field beats the label", "[Role: Old](" + org + ") was created\n**Name:** Ops",
			Detail{Entity: EntityRole, Action: ActionCreated, Name: "Ops", URL: org, Organization: "acme", Fields: fieldsOf("Name", "Ops")}},
		{"peer first and last name", "Peer created\n**First name:** Ada\n**Last name:** Lovelace",
			Detail{Entity: EntityPeer, Action: ActionCreated, Name: "Ada Lovelace", Fields: fieldsOf("First name", "Ada", "Last name", "Lovelace")}},
		{"peer first name only", "Peer deleted\n**First name:** Ada",
			Detail{Entity: EntityPeer, Action: ActionDeleted, Name: "Ada", Fields: fieldsOf("First name", "Ada")}},
	}
}

// TestParseRules checks Parse against each rule's case.
func TestParseRules(t *testing.T) {
	for _, tt := range parseRuleTests() {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Text = tt.text
			got := Parse(tt.text)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("Parse(%q)\ngot:  %s\nwant: %s", tt.text, gotJSON, wantJSON)
			}
		})
	}
}

// TestLastUUIDMatchesReference compares lastUUID with a plain regular-expression
// reading of its rule on generated URLs full of near-UUIDs.
func TestLastUUIDMatchesReference(t *testing.T) {
	uuid := regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	reference := func(s string) string {
		for i := len(s) - 36; i >= 0; i-- {
			if uuid.MatchString(s[i:i+36]) && len(uuid.FindString(s[i:i+36])) == 36 &&
				(i == 0 || !isHex(s[i-1])) && (i+36 == len(s) || !isHex(s[i+36])) {
				return strings.ToLower(s[i : i+36])
			}
		}
		return ""
	}
	rng := rand.New(rand.NewPCG(7, 11))
	parts := []string{"-", "/", "a", "F", "0", "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66", "9C1E7D2A-4B3F", "-4a6e-8d2c-", "1f0e9b8a7c66", "x", "?id="}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.String()
		if got, want := lastUUID(s), reference(s); got != want {
			t.Fatalf("lastUUID(%q) = %q, want %q", s, got, want)
		}
	}
}
