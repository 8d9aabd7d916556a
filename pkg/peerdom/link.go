package peerdom

import "strings"

// The header's link, `[label](url)`, and what its URL tells: the organization and the
// entity's UUID.

// splitLink finds the first Markdown link [label](url) in h and returns the text before
// and after it, the raw label and the link target.
func splitLink(h string) (before, after, label, url string, ok bool) {
	if !strings.Contains(h, "[") {
		return h, "", "", "", false
	}
	closeAt := closers(h)
	for i := 0; i < len(h); i++ {
		switch {
		case h[i] == '\\':
			i++ // an escaped [ opens no link
		case h[i] == '[':
			closeLabel := closeAt[i]
			if closeLabel < 0 || closeLabel+1 >= len(h) || h[closeLabel+1] != '(' {
				continue
			}
			closeURL := closeAt[closeLabel+1]
			if closeURL < 0 {
				continue
			}
			return h[:i], h[closeURL+1:], h[i+1 : closeLabel], linkTarget(h[closeLabel+2 : closeURL]), true
		}
	}
	return h, "", "", "", false
}

// closers returns, at the index of each [ and ( of s that is not escaped, the index of
// the ] or ) that closes it (brackets nest, a backslash escapes the byte after it), or
// -1 when none does. It is one pass with a stack for each kind: looking for each
// bracket's closer from the bracket would read a line of ((( or [[[ once per bracket.
func closers(s string) []int {
	closeAt := make([]int, len(s))
	// the brackets not closed yet, with room for all of them from the start
	squares, parens := make([]int, 0, strings.Count(s, "[")), make([]int, 0, strings.Count(s, "("))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			closeAt[i] = -1
			squares = append(squares, i)
		case '(':
			closeAt[i] = -1
			parens = append(parens, i)
		case ']':
			if n := len(squares); n > 0 {
				closeAt[squares[n-1]] = i
				squares = squares[:n-1]
			}
		case ')':
			if n := len(parens); n > 0 {
				closeAt[parens[n-1]] = i
				parens = parens[:n-1]
			}
		}
	}
	return closeAt
}

// linkTarget takes the destination out of a link's parentheses: `<url>` or `url "title"`.
func linkTarget(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<") {
		if i := strings.IndexByte(s, '>'); i > 0 {
			return s[1:i]
		}
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i]
	}
	return s
}

// organization is the first path segment of a peerdom.org URL.
func organization(url string) string {
	i := strings.Index(url, "://")
	if i < 0 {
		return ""
	}
	authority, path, ok := strings.Cut(url[i+3:], "/")
	// A ? or # before the first slash ends the authority without a path.
	if !ok || strings.ContainsAny(authority, "?#") {
		return ""
	}
	// The host follows the last @ (user information) and ends at a port's colon.
	host := authority[strings.LastIndexByte(authority, '@')+1:]
	host, _, _ = strings.Cut(host, ":")
	host = strings.TrimSuffix(host, ".")
	if !equalFold(host, "peerdom.org") && !hasSuffixFold(host, ".peerdom.org") {
		return ""
	}
	if end := strings.IndexAny(path, "/?#"); end >= 0 {
		path = path[:end]
	}
	return path
}

// lastUUID is the last 8-4-4-4-12 hex group in s that no other hex digit touches,
// lower-cased, or "". Only the dashes of s can be a UUID's last dash, 23 bytes after
// its start, so each is tried once.
func lastUUID(s string) string {
	const n = 36
	for dash := strings.LastIndexByte(s, '-'); dash >= 23; dash = strings.LastIndexByte(s[:dash], '-') {
		i := dash - 23
		if i+n <= len(s) && isUUID(s[i:i+n]) && (i == 0 || !isHex(s[i-1])) && (i+n == len(s) || !isHex(s[i+n])) {
			return strings.ToLower(s[i : i+n])
		}
	}
	return ""
}

// isUUID reports whether s (36 bytes) is hex digits with dashes at 8, 13, 18 and 23.
func isUUID(s string) bool {
	for i := 0; i < len(s); i++ {
		if dash := i == 8 || i == 13 || i == 18 || i == 23; dash != (s[i] == '-') || !dash && !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
