package peerdom

import (
	"strings"
	"unicode"
)

// Parse turns a webhook's Markdown text into an event detail (docs/contract.md).
// It never fails: a header it does not understand gives an unrecognized detail with
// only the text and empty fields and changes. ID and ReceivedAt are left for the caller.
//
// It reads the text once, line by line, without regular expressions, and every step
// takes time in proportion to the bytes it reads, whatever the text: a sender controls
// the text, and the worker parses every webhook.
func Parse(text string) Detail {
	p := parser{text: text, d: Detail{Text: text, Changes: []Change{}, ChangedFields: []string{}}}
	for rest := text; ; {
		line, after, more := strings.Cut(rest, "\n")
		p.line(len(text)-len(rest), strings.TrimSuffix(line, "\r"))
		if !more {
			break
		}
		rest = after
	}
	p.flush()
	if !p.d.Recognized() {
		// An unrecognized message carries only its text (docs/contract.md).
		return Detail{Text: text, Changes: []Change{}, ChangedFields: []string{}}
	}
	p.d.Name = p.name()
	return p.d
}

type parser struct {
	text string
	d    Detail

	headerSeen bool
	labelName  string // a name given in the header's link label

	fieldIndex map[string]int // where each field is in d.Fields, once there are many

	// the field being read: its name and the span of its value in text, which grows
	// with each continuation line
	inField              bool
	fieldName            string
	valueStart, valueEnd int

	// what the name is derived from (docs/contract.md, `name`)
	nameChange, nameField, firstName, lastName string
}

// line handles one line of the text, without its line ending; start is its offset.
func (p *parser) line(start int, line string) {
	trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
	if trimmed == "" {
		if p.headerSeen {
			p.flush() // a blank line ends a value
		}
		return
	}
	if !p.headerSeen {
		p.headerSeen = true
		p.header(strings.TrimSpace(line))
		return
	}
	if !p.d.Recognized() {
		return // the body of an unrecognized message is not read
	}
	end := start + len(line)
	name, valueOff, ok := fieldLine(trimmed)
	if !ok {
		if p.inField {
			p.valueEnd = end // a continuation line
		}
		return
	}
	p.flush()
	valueStart := end - len(trimmed) + valueOff
	if equalFold(name, "author") {
		p.d.Author = parseAuthor(p.text[valueStart:end])
		return
	}
	p.inField, p.fieldName, p.valueStart, p.valueEnd = true, unescape(name), valueStart, end
}

// fieldLine recognizes `**Name:** value` and `**Name**: value` (line has no leading
// space). It returns the raw name and the offset in line where the value starts.
func fieldLine(line string) (name string, valueOff int, ok bool) {
	rest, ok := strings.CutPrefix(line, "**")
	if !ok {
		return "", 0, false
	}
	inner, after, ok := strings.Cut(rest, "**")
	if !ok {
		return "", 0, false
	}
	valueOff = len(line) - len(after)
	switch {
	case strings.HasSuffix(inner, ":"):
		name = inner[:len(inner)-1]
	case strings.HasPrefix(after, ":"):
		name, valueOff = inner, valueOff+1
	case strings.HasPrefix(after, " :") || strings.HasPrefix(after, "\t:"):
		name, valueOff = inner, valueOff+2
	default:
		return "", 0, false
	}
	name = strings.TrimSpace(name)
	return name, valueOff, name != ""
}

// flush files the field being read as a change or a field.
func (p *parser) flush() {
	if !p.inField {
		return
	}
	p.inField = false
	raw := p.text[p.valueStart:p.valueEnd]
	if strings.Contains(raw, "\r") {
		raw = strings.ReplaceAll(raw, "\r\n", "\n") // lines are joined with \n
	}
	raw = strings.TrimSpace(raw)
	name := p.fieldName
	value := unescape(raw)
	if p.d.Action == ActionUpdated {
		if c, ok := parseChange(name, value); ok {
			if cap(p.d.Changes) == 0 {
				n := p.fieldLinesLeft()
				p.d.Changes, p.d.ChangedFields = make([]Change, 0, n), make([]string, 0, n)
			}
			p.d.Changes = append(p.d.Changes, c)
			p.d.ChangedFields = append(p.d.ChangedFields, name)
			if !c.IsList {
				p.noteName(name, c.New, true)
			}
			return
		}
	}
	p.addField(name, value)
	p.noteName(name, value, false)
}

// fieldLinesLeft bounds the number of fields or changes still to be filed, the one
// being filed included, by the lines starting with ** that follow: room for them all at
// once costs less than growing into it.
func (p *parser) fieldLinesLeft() int {
	return 1 + strings.Count(p.text[p.valueEnd:], "\n**")
}

// addField files a field, or gives a field already filed its new value.
func (p *parser) addField(name, value string) {
	if p.d.Fields == nil {
		p.d.Fields = make(Fields, 0, p.fieldLinesLeft())
	}
	fields := p.d.Fields
	if p.fieldIndex == nil && len(fields) < 16 {
		for i := range fields {
			if fields[i].Name == name {
				fields[i].Value = value
				return
			}
		}
	} else {
		// Many fields: an index keeps each line from a walk over them all.
		if p.fieldIndex == nil {
			p.fieldIndex = make(map[string]int, 2*len(fields))
			for i := range fields {
				p.fieldIndex[fields[i].Name] = i
			}
		}
		if i, ok := p.fieldIndex[name]; ok {
			fields[i].Value = value
			return
		}
		p.fieldIndex[name] = len(fields)
	}
	p.d.Fields = append(fields, Field{Name: name, Value: value})
}

// noteName remembers the values the event's name can be derived from.
func (p *parser) noteName(field, value string, changed bool) {
	switch {
	case equalFold(field, "name"):
		if changed {
			p.nameChange = value
		} else {
			p.nameField = value
		}
	case equalFold(field, "first name"):
		p.firstName = value
	case equalFold(field, "last name"):
		p.lastName = value
	}
}

// name is the event's name: for updates the new value of a Name change, else the name
// in the header's link label; for creates and deletes the Name field. Peers without a
// Name get their first and last names joined.
func (p *parser) name() string {
	given := p.nameField
	if p.d.Action == ActionUpdated {
		given = p.nameChange
	}
	switch {
	case given != "":
		return given
	case p.labelName != "":
		return p.labelName
	case p.firstName != "" && p.lastName != "":
		return p.firstName + " " + p.lastName
	case p.firstName != "":
		return p.firstName
	case p.lastName != "":
		return p.lastName
	}
	return p.nameField // an updated message that shows its Name without changing it
}

// parseChange reads an updated message's field value as a change, if it is one. The
// value's Markdown escapes are already removed: markers and arrows are looked for after,
// so an escaped marker (\[+\]) or arrow (\->) is still one.
func parseChange(field, raw string) (Change, bool) {
	// A value that opens with a list marker is a list even if an item holds an arrow;
	// otherwise the arrow decides, and markers elsewhere still make a list.
	if startsWithMarker(raw) {
		return listChange(field, raw), true
	}
	if old, new, ok := cutArrow(raw); ok {
		return Change{Field: field, Old: strings.TrimSpace(old), New: strings.TrimSpace(new)}, true
	}
	if nextMarker(raw) >= 0 {
		return listChange(field, raw), true
	}
	return Change{}, false
}

// cutArrow cuts s around its first → (U+2192), else its first ->.
func cutArrow(s string) (before, after string, found bool) {
	if before, after, found = strings.Cut(s, "→"); found {
		return before, after, true
	}
	return strings.Cut(s, "->")
}

func startsWithMarker(s string) bool {
	s = dropBullet(s)
	return strings.HasPrefix(s, "[+]") || strings.HasPrefix(s, "[-]")
}

// dropBullet removes a leading Markdown bullet ("- " or "* ") and surrounding space.
func dropBullet(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*') && (s[1] == ' ' || s[1] == '\t') {
		s = strings.TrimSpace(s[2:])
	}
	return s
}

// listChange splits a value into [+] added and [-] removed items. Each marker starts an
// item that runs to the next marker or the end of its line.
func listChange(field, raw string) Change {
	c := Change{Field: field, IsList: true, Added: []string{}, Removed: []string{}}
	for line := range strings.Lines(raw) {
		i := nextMarker(line)
		for i >= 0 {
			added := line[i+1] == '+'
			line = line[i+3:]
			j := nextMarker(line)
			item := line
			if j >= 0 {
				item = line[:j]
			}
			switch item = cleanItem(item); {
			case item == "":
			case added:
				c.Added = append(c.Added, item)
			default:
				c.Removed = append(c.Removed, item)
			}
			i = j
		}
	}
	return c
}

// nextMarker is the index of the first [+] or [-] in s, or -1. One scan, so that calling
// it again after each marker reads each byte once.
func nextMarker(s string) int {
	for i := 0; ; i++ {
		j := strings.IndexByte(s[i:], '[')
		if j < 0 {
			return -1
		}
		i += j
		if i+2 < len(s) && (s[i+1] == '+' || s[i+1] == '-') && s[i+2] == ']' {
			return i
		}
	}
}

// cleanItem trims an item, the bullet that may stand before the next marker, and a
// separating , or ; after it.
func cleanItem(s string) string {
	s = strings.TrimSpace(s)
	if s == "-" || s == "*" {
		return ""
	}
	if strings.HasSuffix(s, " -") || strings.HasSuffix(s, " *") {
		s = strings.TrimSpace(s[:len(s)-2])
	}
	return strings.TrimSpace(strings.TrimRight(s, ",;"))
}

// parseAuthor reads `Name (email)`, a bare email, or a bare name, or gives nil for an
// empty value. The email is the last parenthesized part that contains @; a Markdown
// link or autolink gives its address.
func parseAuthor(raw string) *Author {
	v := strings.TrimSpace(raw)
	var a Author
	if open, closing := lastParenWithAt(v); open >= 0 {
		a.Email = plainEmail(v[open+1 : closing])
		a.Name = unescape(strings.TrimSpace(v[:open]))
	} else if at := strings.LastIndexByte(v, '@'); at >= 0 {
		// No parentheses: the word holding the last @ is the address, what precedes the name.
		space := strings.LastIndexFunc(v[:at], unicode.IsSpace)
		a.Email = plainEmail(v[space+1:])
		if space >= 0 {
			a.Name = unescape(strings.TrimSpace(v[:space]))
		}
	} else {
		a.Name = unescape(v)
	}
	if a.Name == "" && a.Email == "" {
		return nil
	}
	return &a
}

// lastParenWithAt finds the last top-level (...) group whose content contains @; a
// Markdown link's (destination) is not a group.
func lastParenWithAt(s string) (open, closing int) {
	open, closing = -1, -1
	var closeAt []int // closers(s), once a link is met
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped character is not a parenthesis
		case '(':
			if depth == 0 && i > 0 && s[i-1] == ']' {
				if closeAt == nil {
					closeAt = closers(s)
				}
				if closeAt[i] < 0 {
					return open, closing
				}
				i = closeAt[i]
				continue
			}
			if depth == 0 {
				start = i
			}
			depth++
		case ')':
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 && strings.Contains(s[start:i], "@") {
				open, closing = start, i
			}
		}
	}
	return open, closing
}

// plainEmail reduces `[a@b.c](mailto:a@b.c)`, `<a@b.c>` and `mailto:a@b.c` to a@b.c.
func plainEmail(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, ")") {
		if label, target, ok := strings.Cut(s[1:len(s)-1], "]("); ok {
			if strings.Contains(label, "@") {
				s = label
			} else {
				s = target
			}
		}
	}
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = s[1 : len(s)-1]
	}
	if len(s) > 7 && equalFold(s[:7], "mailto:") {
		s = s[7:]
	}
	return unescape(strings.TrimSpace(s))
}
