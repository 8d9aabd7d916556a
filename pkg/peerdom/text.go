package peerdom

import "strings"

// unescape removes Markdown backslash escapes: a backslash before ASCII punctuation.
func unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 || i == len(s)-1 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
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

// equalFold reports whether s is word, an ASCII word, ignoring case. The equal lengths
// keep out Unicode's folds of other letters to ASCII ones (ſ to s, the Kelvin sign to k).
func equalFold(s, word string) bool {
	return len(s) == len(word) && strings.EqualFold(s, word)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && equalFold(s[len(s)-len(suffix):], suffix)
}
