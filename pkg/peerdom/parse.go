package peerdom

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse turns a webhook's Markdown text into an event detail (CONTRACT.md §3).
// It never fails: a header it does not understand gives an unrecognized detail with
// only the text and empty fields and changes. ID and ReceivedAt are left for the caller.
//
// It is a single pass over the lines without regular expressions: the worker parses
// every webhook, and values are substrings of the text wherever the text allows.
func Parse(text string) Detail {
	p := parser{text: text, d: Detail{Text: text, Changes: []Change{}, ChangedFields: []string{}}}
	p.hasBackslash = strings.IndexByte(text, '\\') >= 0
	p.hasCR = strings.IndexByte(text, '\r') >= 0
	p.run()
	return p.d
}

type parser struct {
	text string
	d    Detail // held by value so that it stays on the stack

	// Whether text has these at all: most texts don't, and then the small parts cut from
	// them need no look for a backslash to unescape or a \r to drop.
	hasBackslash, hasCR bool

	headerSeen bool
	labelName  string // a name given in the header's link label

	fieldIndex map[string]int // where each field is in d.Fields, once there are many

	// the field being read: its name and the span of its value in text
	inField    bool
	fieldName  string
	valueStart int
	valueEnd   int

	author     Author
	hasAuthor  bool
	authorSlot *Author // where the author goes, when allocated with the changes

	// what the name is derived from (CONTRACT.md §2, `name`)
	nameChange, nameField, firstName, lastName string
}

func (p *parser) run() {
	text := p.text
	for pos := 0; pos <= len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		next := 0
		if end < 0 {
			end = len(text)
			next = len(text) + 1
		} else {
			end += pos
			next = end + 1
		}
		lineEnd := end
		if p.hasCR && lineEnd > pos && text[lineEnd-1] == '\r' {
			lineEnd--
		}
		p.line(pos, lineEnd)
		pos = next
	}
	p.flush()
	if !p.d.Recognized() {
		// An unrecognized message carries only its text (CONTRACT.md §3).
		p.d = Detail{Text: text, Changes: []Change{}, ChangedFields: []string{}}
		return
	}
	p.d.Name = p.name()
	if p.hasAuthor {
		if p.authorSlot == nil {
			p.authorSlot = new(Author)
		}
		*p.authorSlot = p.author
		p.d.Author = p.authorSlot
	}
}

// The change slices and the author of an updated message share one allocation, in the
// smallest of these shapes that fits; allocations are most of what parsing costs.
type (
	changes1 struct {
		author Author
		c      [1]Change
		f      [1]string
	}
	changes2 struct {
		author Author
		c      [2]Change
		f      [2]string
	}
	changes4 struct {
		author Author
		c      [4]Change
		f      [4]string
	}
)

// fieldLinesAfter bounds the number of field lines in s: its line count when that is
// small (one vectorized count), else the exact count of countFieldLines.
func fieldLinesAfter(s string) int {
	if n := strings.Count(s, "\n"); n <= 8 {
		return n
	}
	return countFieldLines(s)
}

// countFieldLines counts the lines of s that start with "**" (strings.Count of "\n**",
// which is slower for a needle longer than a byte).
func countFieldLines(s string) int {
	n := 0
	for i := strings.IndexByte(s, '\n'); i >= 0; i = strings.IndexByte(s, '\n') {
		s = s[i+1:]
		if strings.HasPrefix(s, "**") {
			n++
		}
	}
	return n
}

// A message's fields and its author share one allocation, in the smallest of these
// shapes that fits.
type (
	fields2 struct {
		author Author
		f      [2]Field
	}
	fields4 struct {
		author Author
		f      [4]Field
	}
	fields8 struct {
		author Author
		f      [8]Field
	}
)

// allocFields makes room for n fields (and the author, unless the changes have it).
func (p *parser) allocFields(n int) {
	var author *Author
	switch {
	case n <= 2:
		t := new(fields2)
		p.d.Fields, author = t.f[:0], &t.author
	case n <= 4:
		t := new(fields4)
		p.d.Fields, author = t.f[:0], &t.author
	case n <= 8:
		t := new(fields8)
		p.d.Fields, author = t.f[:0], &t.author
	default:
		p.d.Fields = make(Fields, 0, n)
	}
	if p.authorSlot == nil {
		p.authorSlot = author
	}
}

// allocChanges makes room for n changes (and the author, should there be one).
func (p *parser) allocChanges(n int) {
	switch {
	case n <= 1:
		t := new(changes1)
		p.d.Changes, p.d.ChangedFields, p.authorSlot = t.c[:0], t.f[:0], &t.author
	case n <= 2:
		t := new(changes2)
		p.d.Changes, p.d.ChangedFields, p.authorSlot = t.c[:0], t.f[:0], &t.author
	case n <= 4:
		t := new(changes4)
		p.d.Changes, p.d.ChangedFields, p.authorSlot = t.c[:0], t.f[:0], &t.author
	default:
		p.d.Changes, p.d.ChangedFields = make([]Change, 0, n), make([]string, 0, n)
	}
}

// line handles text[start:end], one line without its line ending.
func (p *parser) line(start, end int) {
	line := p.text[start:end]
	trimmed := trimLeftSpace(line)
	if trimmed == "" {
		if p.headerSeen {
			p.flush() // a blank line ends a value
		}
		return
	}
	if !p.headerSeen {
		p.headerSeen = true
		p.header(trimSpace(line))
		return
	}
	if !p.d.Recognized() {
		return // the body of an unrecognized message is not read
	}
	name, valueOff, ok := fieldLine(trimmed)
	if !ok {
		if p.inField {
			p.valueEnd = end // a continuation line
		}
		return
	}
	p.flush()
	valueStart := start + (len(line) - len(trimmed)) + valueOff
	if valueStart < end && line[valueStart-start] == ' ' {
		valueStart++ // the value is trimmed anyway; this spares trimSpace its slow path
	}
	if equalFoldASCII(name, "author") {
		p.author, p.hasAuthor = p.parseAuthor(p.text[valueStart:end])
		return
	}
	p.inField, p.fieldName, p.valueStart, p.valueEnd = true, p.unescape(name), valueStart, end
}

// trimSpace is strings.TrimSpace with a quick answer for the usual string, one with
// no space at either end.
func trimSpace(s string) string {
	if s != "" && !mayBeSpace[s[0]] && !mayBeSpace[s[len(s)-1]] {
		return s
	}
	return strings.TrimSpace(s)
}

// mayBeSpace marks the bytes that are, or may start or end, a Unicode space: ASCII
// space and control characters and every non-ASCII byte.
var mayBeSpace = func() (t [256]bool) {
	for c := range t {
		t[c] = c <= ' ' || c >= utf8.RuneSelf
	}
	return t
}()

// trimLeftSpace is strings.TrimLeftFunc(s, unicode.IsSpace) with an ASCII fast path.
func trimLeftSpace(s string) string {
	if s != "" && !mayBeSpace[s[0]] {
		return s
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r':
		case c < utf8.RuneSelf:
			return s[i:]
		default:
			return strings.TrimLeftFunc(s[i:], unicode.IsSpace)
		}
	}
	return ""
}

// flush files the field being read as a change or a field.
func (p *parser) flush() {
	if !p.inField {
		return
	}
	p.inField = false
	raw := p.text[p.valueStart:p.valueEnd]
	if p.hasCR && strings.IndexByte(raw, '\r') >= 0 {
		raw = strings.ReplaceAll(raw, "\r\n", "\n") // lines are joined with \n
	}
	raw = trimSpace(raw)
	name := p.fieldName
	if p.d.Action == ActionUpdated {
		if c, ok := p.parseChange(name, raw); ok {
			if cap(p.d.Changes) == 0 {
				// Room for this change and one per field line still to come.
				p.allocChanges(1 + fieldLinesAfter(p.text[p.valueEnd:]))
			}
			p.d.Changes = append(p.d.Changes, c)
			p.d.ChangedFields = append(p.d.ChangedFields, name)
			if !c.IsList {
				p.noteName(name, c.New, true)
			}
			return
		}
	}
	value := p.unescape(raw)
	p.addField(name, value)
	p.noteName(name, value, false)
}

// addField files a field, or gives a field already filed its new value.
func (p *parser) addField(name, value string) {
	if p.d.Fields == nil {
		// Room for this field and one per field line still to come.
		p.allocFields(1 + fieldLinesAfter(p.text[p.valueEnd:]))
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
		// Many fields: an index keeps a repeated name from costing a walk over them all.
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
	if n := len(field); n != len("Name") && n != len("First name") && n != len("Last name") {
		return
	}
	switch {
	case equalFoldASCII(field, "name"):
		if changed {
			p.nameChange = value
		} else {
			p.nameField = value
		}
	case equalFoldASCII(field, "first name"):
		p.firstName = value
	case equalFoldASCII(field, "last name"):
		p.lastName = value
	}
}

// name is the event's name: for updates the new value of a Name change, else the name
// in the header's link label; for creates and deletes the Name field. Peers without a
// Name get their first and last names joined.
func (p *parser) name() string {
	candidates := [...]string{p.nameField, p.labelName}
	if p.d.Action == ActionUpdated {
		candidates = [...]string{p.nameChange, p.labelName}
	}
	for _, c := range candidates {
		if c != "" {
			return c
		}
	}
	if p.firstName != "" && p.lastName != "" {
		return p.firstName + " " + p.lastName
	}
	if p.firstName != "" {
		return p.firstName
	}
	if p.lastName != "" {
		return p.lastName
	}
	return p.nameField // an updated message that shows its Name without changing it
}

// fieldLine recognizes `**Name:** value` and `**Name**: value` (line has no leading
// space). It returns the raw name and the offset in line where the value starts.
func fieldLine(line string) (name string, valueOff int, ok bool) {
	if !strings.HasPrefix(line, "**") {
		return "", 0, false
	}
	closing := indexShort(line[2:], "**")
	if closing < 0 {
		return "", 0, false
	}
	inner := line[2 : 2+closing]
	after := 2 + closing + 2
	switch {
	case strings.HasSuffix(inner, ":"):
		name, valueOff = inner[:len(inner)-1], after
	case after < len(line) && line[after] == ':':
		name, valueOff = inner, after+1
	case after+1 < len(line) && (line[after] == ' ' || line[after] == '\t') && line[after+1] == ':':
		name, valueOff = inner, after+2
	default:
		return "", 0, false
	}
	name = trimSpace(name)
	if name == "" {
		return "", 0, false
	}
	return name, valueOff, true
}

// indexShort is strings.Index for the parser's few-byte needles: a byte search for the
// needle's first byte and a check of the rest, cheaper than strings.Index on the short
// names and values it looks in.
func indexShort(s, needle string) int {
	for i := 0; ; i++ {
		j := strings.IndexByte(s[i:], needle[0])
		if j < 0 {
			return -1
		}
		if i += j; strings.HasPrefix(s[i:], needle) {
			return i
		}
	}
}

// parseChange reads an updated message's field value as a change, if it is one.
func (p *parser) parseChange(field, raw string) (Change, bool) {
	// A value that opens with a list marker is a list even if an item holds an arrow;
	// otherwise the arrow decides, and markers elsewhere still make a list.
	if startsWithMarker(raw) {
		return p.listChange(field, raw), true
	}
	if i, n := findArrow(raw); i >= 0 {
		return Change{
			Field: field,
			Old:   p.unescape(trimSpace(raw[:i])),
			New:   p.unescape(trimSpace(raw[i+n:])),
		}, true
	}
	if nextMarker(raw) >= 0 {
		return p.listChange(field, raw), true
	}
	return Change{}, false
}

// findArrow returns the index and byte length of the first → (U+2192), else of the
// first ->, else -1.
func findArrow(s string) (int, int) {
	if i := indexShort(s, "→"); i >= 0 {
		return i, len("→")
	}
	if i := indexShort(s, "->"); i >= 0 {
		return i, 2
	}
	return -1, 0
}

func startsWithMarker(s string) bool {
	s = dropBullet(s)
	return strings.HasPrefix(s, "[+]") || strings.HasPrefix(s, "[-]")
}

// dropBullet removes a leading Markdown bullet ("- " or "* ") and surrounding space.
func dropBullet(s string) string {
	s = trimSpace(s)
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*') && (s[1] == ' ' || s[1] == '\t') {
		s = trimSpace(s[2:])
	}
	return s
}

// listChange splits a value into [+] added and [-] removed items. Each marker starts an
// item that runs to the next marker or the end of its line.
func (p *parser) listChange(field, raw string) Change {
	// Items are gathered on the stack (for the usual few), then the added and the removed
	// share one allocation.
	type item struct {
		added bool
		text  string
	}
	var stack [8]item
	items := stack[:0]
	nAdded := 0
	for raw != "" {
		line := raw
		if i := strings.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		i := nextMarker(line)
		for i >= 0 {
			added := line[i+1] == '+'
			line = line[i+3:]
			j := nextMarker(line)
			text := line
			if j >= 0 {
				text = line[:j]
			}
			if text = p.cleanItem(text); text != "" {
				items = append(items, item{added, text})
				if added {
					nAdded++
				}
			}
			i = j
		}
	}
	all := make([]string, len(items))
	a, r := 0, nAdded
	for _, it := range items {
		if it.added {
			all[a], a = it.text, a+1
		} else {
			all[r], r = it.text, r+1
		}
	}
	return Change{Field: field, IsList: true, Added: all[:nAdded:nAdded], Removed: all[nAdded:]}
}

// nextMarker is the index of the first [+] or [-] in s, or -1.
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
func (p *parser) cleanItem(s string) string {
	s = trimSpace(s)
	if s == "-" || s == "*" {
		return ""
	}
	if strings.HasSuffix(s, " -") || strings.HasSuffix(s, " *") {
		s = trimSpace(s[:len(s)-2])
	}
	for s != "" && (s[len(s)-1] == ',' || s[len(s)-1] == ';') {
		s = s[:len(s)-1]
	}
	return p.unescape(trimSpace(s))
}

// parseAuthor reads `Name (email)`, a bare email, or a bare name. The email is the last
// parenthesized part that contains @; a Markdown link or autolink gives its address.
func (p *parser) parseAuthor(raw string) (Author, bool) {
	v := trimSpace(raw)
	var a Author
	if open, closing := p.lastParenWithAt(v); open >= 0 {
		a.Email = p.plainEmail(v[open+1 : closing])
		a.Name = p.unescape(trimSpace(v[:open]))
	} else if strings.Contains(v, "@") {
		// No parentheses: the last word holding @ is the address, what precedes the name.
		i := lastSpace(v)
		for i >= 0 && !strings.Contains(v[i+1:], "@") {
			i = lastSpace(v[:i])
		}
		a.Email = p.plainEmail(v[i+1:])
		if i >= 0 {
			a.Name = p.unescape(trimSpace(v[:i]))
		}
	} else {
		a.Name = p.unescape(v)
	}
	return a, a.Name != "" || a.Email != ""
}

// lastSpace is strings.LastIndexFunc(s, unicode.IsSpace) with an ASCII fast path.
func lastSpace(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			return i
		case c >= utf8.RuneSelf:
			return strings.LastIndexFunc(s[:i+1], unicode.IsSpace)
		}
	}
	return -1
}

// lastParenWithAt finds the last top-level (...) group whose content contains @.
func (p *parser) lastParenWithAt(s string) (open, closing int) {
	if o, c, ok := p.simpleAuthorGroup(s); ok {
		return o, c
	}
	open, closing = -1, -1
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped character is not a parenthesis
		case '(':
			if depth == 0 {
				if i > 0 && s[i-1] == ']' {
					// a Markdown link's destination belongs to the link, not a group
					i = p.matching(s, i, '(', ')')
					if i < 0 {
						return open, closing
					}
					continue
				}
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

// simpleAuthorGroup is lastParenWithAt's fast path, a few vectorized byte searches
// instead of a walk: the common `Name (email)` — s ends with the only parenthesized
// group, it holds an @, and nothing in s is escaped or a link. ok is false when the
// general scan must decide.
func (p *parser) simpleAuthorGroup(s string) (open, closing int, ok bool) {
	closing = len(s) - 1
	if closing < 1 || s[closing] != ')' {
		return 0, 0, false
	}
	open = strings.IndexByte(s, '(')
	if open < 0 || (open > 0 && s[open-1] == ']') {
		return 0, 0, false
	}
	group := s[open+1 : closing]
	if strings.IndexByte(group, '(') >= 0 || strings.IndexByte(s[:closing], ')') >= 0 ||
		(p.hasBackslash && strings.IndexByte(s, '\\') >= 0) || strings.IndexByte(group, '@') < 0 {
		return 0, 0, false
	}
	return open, closing, true
}

// plainEmail reduces `[a@b.c](mailto:a@b.c)`, `<a@b.c>` and `mailto:a@b.c` to a@b.c.
func (p *parser) plainEmail(s string) string {
	s = trimSpace(s)
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]("); i > 0 && strings.HasSuffix(s, ")") {
			label := s[1:i]
			if strings.Contains(label, "@") {
				s = label
			} else {
				s = s[i+2 : len(s)-1]
			}
		}
	}
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = s[1 : len(s)-1]
	}
	if len(s) > 7 && equalFoldASCII(s[:7], "mailto:") {
		s = s[7:]
	}
	return p.unescape(trimSpace(s))
}

// unescape is the package's unescape for a part of p.text, skipped when the text has
// no backslash at all.
func (p *parser) unescape(s string) string {
	if !p.hasBackslash {
		return s
	}
	return unescape(s)
}

// unescape removes Markdown backslash escapes: a backslash before ASCII punctuation.
func unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 || i == len(s)-1 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// header reads the first non-blank line: the entity, the action, the link.
func (p *parser) header(h string) {
	before, after, label, url, hasLink := p.splitLink(h)
	if hasLink {
		p.d.URL = url
		p.d.Organization = organization(url)
		p.d.EntityID = lastUUID(url)
	}
	cleanLabel := p.unescape(trimDecoration(label))

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
func trimDecoration(s string) string {
	isDecoration := func(c byte) bool { return c == ' ' || c == '\t' || c == '*' || c == '_' || c == '~' || c == '`' }
	for s != "" && isDecoration(s[0]) {
		s = s[1:]
	}
	for s != "" && isDecoration(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// nameInLabel is the name a link label gives: `Role: Ops` gives "Ops"; a label with no
// entity or action word is a name as a whole; anything else gives none.
func nameInLabel(label string) string {
	w, rest := nextWord(label)
	if _, ok := entityWord(w); ok {
		rest = strings.TrimLeft(rest, " \t")
		if strings.HasPrefix(rest, ":") {
			return trimDecoration(rest[1:])
		}
		return ""
	}
	if e, a := firstWords(label); e == "" && a == "" {
		return label
	}
	return ""
}

// splitLink finds the first Markdown link [label](url) in h and returns the text before
// and after it, the raw label and the link target.
func (p *parser) splitLink(h string) (before, after, label, url string, ok bool) {
	for i := 0; i < len(h); i++ {
		j := strings.IndexByte(h[i:], '[')
		if j < 0 {
			break
		}
		i += j
		if escaped(h, i) {
			continue
		}
		closeLabel := p.matching(h, i, '[', ']')
		if closeLabel < 0 || closeLabel+1 >= len(h) || h[closeLabel+1] != '(' {
			continue
		}
		closeURL := p.matching(h, closeLabel+1, '(', ')')
		if closeURL < 0 {
			continue
		}
		return h[:i], h[closeURL+1:], h[i+1 : closeLabel], p.linkTarget(h[closeLabel+2 : closeURL]), true
	}
	return h, "", "", "", false
}

// escaped reports whether s[i] is preceded by an odd number of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

// matching returns the index of the bracket closing the one at open, or -1.
func (p *parser) matching(s string, open int, o, c byte) int {
	// Fast path: the first closing bracket, when nothing that could nest or escape
	// stands before it (the common case for a link's label and URL).
	if j := strings.IndexByte(s[open+1:], c); j >= 0 {
		inner := s[open+1 : open+1+j]
		if strings.IndexByte(inner, o) < 0 && (!p.hasBackslash || strings.IndexByte(inner, '\\') < 0) {
			return open + 1 + j
		}
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case o:
			depth++
		case c:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// linkTarget takes the destination out of a link's parentheses: `<url>` or `url "title"`.
func (p *parser) linkTarget(s string) string {
	s = trimSpace(s)
	if strings.HasPrefix(s, "<") {
		if i := strings.IndexByte(s, '>'); i > 0 {
			return s[1:i]
		}
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	return s
}

// organization is the first path segment of a peerdom.org URL.
func organization(url string) string {
	i := strings.IndexByte(url, ':')
	if i < 0 {
		return ""
	}
	if !strings.HasPrefix(url[i:], "://") {
		if i = strings.Index(url, "://"); i < 0 {
			return ""
		}
	}
	rest := url[i+3:]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return ""
	}
	// The host is what follows the last @ up to a port's colon; a ? or # before the
	// slash ends the URL's authority without a path.
	authority := rest[:slash]
	start, end := 0, len(authority)
	for j := nextAuthorityMark(authority, 0); j < len(authority); j = nextAuthorityMark(authority, j+1) {
		switch authority[j] {
		case '?', '#':
			return ""
		case '@':
			start, end = j+1, len(authority)
		case ':':
			end = min(end, j)
		}
	}
	host := strings.TrimSuffix(authority[start:end], ".")
	if !strings.HasSuffix(host, ".peerdom.org") && host != "peerdom.org" &&
		!equalFoldASCII(host, "peerdom.org") && !hasSuffixFold(host, ".peerdom.org") {
		return ""
	}
	path := rest[slash+1:]
	if end := indexURLDelim(path); end >= 0 {
		path = path[:end]
	}
	return path
}

// authorityMark marks the bytes organization must look at in a URL's authority.
var authorityMark = [256]bool{'?': true, '#': true, '@': true, ':': true}

// nextAuthorityMark is the index of the first marked byte of s at or after i, or len(s).
func nextAuthorityMark(s string, i int) int {
	for i < len(s) && !authorityMark[s[i]] {
		i++
	}
	return i
}

// indexURLDelim is strings.IndexAny(s, "/?#") without building a set on every call.
func indexURLDelim(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && equalFoldASCII(s[len(s)-len(suffix):], suffix)
}

// equalFoldASCII reports whether s equals lower, a lower-case ASCII word, ignoring ASCII
// case: the keywords and field names the parser looks for are all ASCII, and this is
// several times cheaper than strings.EqualFold on the hot path.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// lastUUID is the last 8-4-4-4-12 hex group in s, lower-cased, or "". It tries only the
// places where a dash could be a UUID's last one, so a URL without one costs a scan.
func lastUUID(s string) string {
	const n = 36
	if strings.IndexByte(s, '-') < 0 {
		return "" // the vectorized forward scan is much cheaper than the backward one
	}
	for p := strings.LastIndexByte(s, '-'); p >= 23; p = 23 + strings.LastIndexByte(s[23:p], '-') {
		i := p - 23 // where a UUID whose last dash is at p starts
		if i+n > len(s) || (i > 0 && isHex(s[i-1])) || (i+n < len(s) && isHex(s[i+n])) {
			continue
		}
		if ok, upper := isUUID(s[i : i+n]); ok {
			if upper {
				return strings.ToLower(s[i : i+n])
			}
			return s[i : i+n]
		}
	}
	return ""
}

// isUUID reports whether s (36 bytes) is a UUID, and whether it has upper-case letters.
func isUUID(s string) (ok, upper bool) {
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false, false
	}
	var class byte // the classes of all hex places, or-ed: no branch per byte
	for _, group := range [...]string{s[:8], s[9:13], s[14:18], s[19:23], s[24:]} {
		for i := 0; i < len(group); i++ {
			class |= hexClass[group[i]]
		}
	}
	return class&notHex == 0, class&upperHex != 0
}

// hexClass marks the bytes that are not hex digits, and the upper-case ones that are.
const (
	notHex   = 1
	upperHex = 2
)

var hexClass = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			t[c] = upperHex
		default:
			t[c] = notHex
		}
	}
	return t
}()

func isHex(c byte) bool { return hexClass[c]&notHex == 0 }

// entityWord maps a word to its entity: Role; Group or Circle; Peer or Member.
func entityWord(w string) (Entity, bool) {
	e, _ := classifyWord(w)
	return e, e != ""
}

// The lengths of the shortest and the longest entity or action word.
const minKeyword, maxKeyword = len("role"), len("modified")

// classifyWord tells whether w is an entity word or an action word, case-insensitively.
func classifyWord(w string) (Entity, Action) {
	if len(w) < minKeyword || len(w) > maxKeyword {
		return "", ""
	}
	return lookupKeyword(packWord(w))
}

// packWord packs a word of up to 8 bytes into a number, a byte each with the ASCII case
// bit set: two words pack alike exactly when they are equal ignoring ASCII case (no other
// byte turns into a letter), so a keyword is found by comparing numbers.
func packWord(w string) uint64 {
	var k uint64
	for i := 0; i < len(w); i++ {
		k = k<<8 | uint64(w[i]|0x20)
	}
	return k
}

// lookupKeyword classifies a packed word: one probe of a perfect hash table.
func lookupKeyword(k uint64) (Entity, Action) {
	if slot := &keywordSlots[(k*keywordHash)>>60]; slot.packed == k {
		return slot.entity, slot.action
	}
	return "", ""
}

// keyword is an entity or action word of the header (CONTRACT.md §3), packed.
type keyword struct {
	packed uint64
	entity Entity
	action Action
}

// keywordHash spreads the packed keywords over 16 slots without a collision (found by
// trying multipliers; building keywordSlots checks it).
const keywordHash = 0x92287ff20b3ec92d

var keywordSlots = func() (slots [16]keyword) {
	for _, kw := range [...]keyword{
		{packWord("role"), EntityRole, ""},
		{packWord("group"), EntityGroup, ""},
		{packWord("circle"), EntityGroup, ""},
		{packWord("peer"), EntityPeer, ""},
		{packWord("member"), EntityPeer, ""},
		{packWord("created"), "", ActionCreated},
		{packWord("added"), "", ActionCreated},
		{packWord("updated"), "", ActionUpdated},
		{packWord("edited"), "", ActionUpdated},
		{packWord("changed"), "", ActionUpdated},
		{packWord("modified"), "", ActionUpdated},
		{packWord("deleted"), "", ActionDeleted},
		{packWord("removed"), "", ActionDeleted},
	} {
		slot := &slots[(kw.packed*keywordHash)>>60]
		if slot.packed != 0 {
			panic("peerdom: keywordHash puts two keywords in one slot")
		}
		*slot = kw
	}
	return slots
}()

// firstWords returns the first entity word and the first action word in s. It walks
// the bytes itself, classifying only words of a keyword's length, and leaves text with
// non-ASCII letters (which may join words) to nextWord.
func firstWords(s string) (entity Entity, action Action) {
	for i := 0; i < len(s); {
		for i < len(s) && wordClass[s[i]] == notWordByte {
			i++
		}
		start := i
		var packed uint64 // packWord of the word, built on the way
		for i < len(s) && wordClass[s[i]] == wordByte {
			packed = packed<<8 | uint64(s[i]|0x20)
			i++
		}
		if i < len(s) && wordClass[s[i]] == nonASCIIByte {
			return firstWordsUnicode(s)
		}
		if n := i - start; n >= minKeyword && n <= maxKeyword {
			e, a := lookupKeyword(packed)
			if entity == "" {
				entity = e
			}
			if action == "" {
				action = a
			}
			if entity != "" && action != "" {
				break
			}
		}
	}
	return entity, action
}

// wordClass sorts bytes for firstWords: ASCII letters and digits, other ASCII, and the
// bytes of non-ASCII characters.
const (
	notWordByte = iota
	wordByte
	nonASCIIByte
)

var wordClass = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = nonASCIIByte
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			t[c] = wordByte
		}
	}
	return t
}()

// firstWordsUnicode is firstWords for text whose words may hold any letter.
func firstWordsUnicode(s string) (entity Entity, action Action) {
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
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiWord[c] {
				if start < 0 {
					start = i
				}
			} else if start >= 0 {
				return s[start:i], s[i:]
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			return s[start:i], s[i:]
		}
		i += size
	}
	if start >= 0 {
		return s[start:], ""
	}
	return "", ""
}

// asciiWord marks the ASCII letters and digits.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	return t
}()
