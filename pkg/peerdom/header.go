package peerdom

import (
	"strings"
	"unicode"
)

// The header is a message's first non-blank line: it names the entity and what happened
// to it, in words (docs/contract.md), and may hold a link to the entity.

// header reads the header line: the entity, the action, the link.
func (p *parser) header(h string) {
	before, after, label, url, hasLink := splitLink(h)
	if hasLink {
		p.d.URL = url
		p.d.Organization = organization(url)
		p.d.EntityID = lastUUID(url)
	}
	cleanLabel := unescape(trimDecoration(label))

	// Entity: a label that is exactly an entity word, else the first entity word outside
	// the label, else the first one in it. The URL is never read for words.
	// Actions follow the same order: outside the label first, then in it.
	entity, labelIsEntity := entityWord(cleanLabel)
	var action Action
	for _, segment := range [...]string{before, after, label} {
		if entity != "" && action != "" {
			break
		}
		e, a := firstWords(segment)
		if entity == "" {
			entity = e
		}
		if action == "" {
			action = a
		}
	}
	if entity == "" || action == "" {
		return
	}
	p.d.Entity, p.d.Action = entity, action
	if hasLink && !labelIsEntity {
		p.labelName = nameInLabel(cleanLabel)
	}
}

// trimDecoration trims spaces and Markdown emphasis (* _ ~ `) from both ends.
func trimDecoration(s string) string { return strings.Trim(s, " \t*_~`") }

// nameInLabel is the name a link label gives: `Role: Ops` gives "Ops"; a label with no
// entity or action word is a name as a whole; anything else gives none.
func nameInLabel(label string) string {
	w, rest := nextWord(label)
	if _, ok := entityWord(w); ok {
		if name, ok := strings.CutPrefix(strings.TrimLeft(rest, " \t"), ":"); ok {
			return trimDecoration(name)
		}
		return ""
	}
	if e, a := firstWords(label); e == "" && a == "" {
		return label
	}
	return ""
}

// keywords are the header's entity and action words (docs/contract.md).
var keywords = [...]struct {
	word   string
	entity Entity
	action Action
}{
	{"role", EntityRole, ""},
	{"group", EntityGroup, ""},
	{"circle", EntityGroup, ""},
	{"peer", EntityPeer, ""},
	{"member", EntityPeer, ""},
	{"created", "", ActionCreated},
	{"added", "", ActionCreated},
	{"updated", "", ActionUpdated},
	{"changed", "", ActionUpdated},
	{"modified", "", ActionUpdated},
	{"edited", "", ActionUpdated},
	{"deleted", "", ActionDeleted},
	{"removed", "", ActionDeleted},
}

// classifyWord tells whether w is an entity word or an action word, ignoring case.
func classifyWord(w string) (Entity, Action) {
	for _, k := range keywords {
		if equalFold(w, k.word) {
			return k.entity, k.action
		}
	}
	return "", ""
}

// entityWord maps a word to its entity: Role; Group or Circle; Peer or Member.
func entityWord(w string) (Entity, bool) {
	e, _ := classifyWord(w)
	return e, e != ""
}

// firstWords returns the first entity word and the first action word in s.
func firstWords(s string) (entity Entity, action Action) {
	for w, rest := nextWord(s); w != "" && (entity == "" || action == ""); w, rest = nextWord(rest) {
		e, a := classifyWord(w)
		if entity == "" {
			entity = e
		}
		if action == "" {
			action = a
		}
	}
	return entity, action
}

// nextWord returns the first run of letters and digits in s and what follows it, so
// that "Peerdom" is one word and "**Role**" holds the word "Role".
func nextWord(s string) (word, rest string) {
	start := strings.IndexFunc(s, isWordRune)
	if start < 0 {
		return "", ""
	}
	end := strings.IndexFunc(s[start:], func(r rune) bool { return !isWordRune(r) })
	if end < 0 {
		return s[start:], ""
	}
	return s[start : start+end], s[start+end:]
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
