package eventpattern

import (
	"errors"
	"strings"
)

// wildcard is a compiled wildcard value: literal parts separated by stars.
type wildcard struct {
	parts []string // len(parts) == number of stars + 1; parts may be empty
}

// compileWildcard reads a wildcard value: * matches any run of characters (also none),
// \* is a literal star and \\ a literal backslash. Consecutive stars and any other
// backslash escape are refused, as EventBridge refuses them.
func compileWildcard(pattern string) (*wildcard, error) {
	var parts []string
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if prevStar {
				return nil, errors.New("wildcard must not contain consecutive * characters")
			}
			parts = append(parts, cur.String())
			cur.Reset()
			prevStar = true
			continue
		case '\\':
			if i+1 >= len(pattern) || (pattern[i+1] != '*' && pattern[i+1] != '\\') {
				return nil, errors.New(`wildcard allows a backslash only before * or \ (write \* for a literal star, \\ for a backslash)`)
			}
			i++
			c = pattern[i]
		}
		cur.WriteByte(c)
		prevStar = false
	}
	parts = append(parts, cur.String())
	return &wildcard{parts: parts}, nil
}

func (w *wildcard) match(s string) bool {
	if len(w.parts) == 1 {
		return s == w.parts[0]
	}
	first, last := w.parts[0], w.parts[len(w.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	// The middle parts, leftmost first, in what is left between the ends: with only
	// stars between them, the earliest placement of each part is never worse.
	s = s[len(first) : len(s)-len(last)]
	for _, part := range w.parts[1 : len(w.parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}
