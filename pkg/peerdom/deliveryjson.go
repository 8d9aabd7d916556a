package peerdom

import (
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// scanDelivery is the fast path of DecodeDelivery: a scanner for the shape ingest writes,
// a JSON object in valid UTF-8 whose members are exactly the envelope's keys (any order,
// each at most once; sender's members likewise), with string values where strings go
// and an integer version. It reports ok only when encoding/json would decode the same
// input without error into the same Delivery; for anything else (invalid UTF-8, other or
// differently cased keys, duplicates, null, other number forms, a receivedAt time.Time
// refuses, invalid JSON) it says !ok and the caller decodes with encoding/json, which
// gives the result or the error it always gave. Strings that need no unescaping share
// the input's memory.
func scanDelivery(s string) (d Delivery, ok bool) {
	// Valid UTF-8 leaves the strings nothing to do but unescape: encoding/json replaces
	// invalid bytes, and ingest never writes them.
	if !utf8.ValidString(s) {
		return Delivery{}, false
	}
	p := jsonScanner{s: s}
	p.skipSpace()
	if !p.consume('{') {
		return Delivery{}, false
	}
	const (
		seenVersion = 1 << iota
		seenID
		seenReceivedAt
		seenText
		seenSender
	)
	var seen uint8
	for {
		p.skipSpace()
		key, ok := p.plainKey()
		if !ok {
			return Delivery{}, false
		}
		p.skipSpace()
		if !p.consume(':') {
			return Delivery{}, false
		}
		p.skipSpace()
		var bit uint8
		switch key {
		case "version":
			bit = seenVersion
			d.Version, ok = p.smallInt()
		case "id":
			bit = seenID
			d.ID, ok = p.str()
		case "receivedAt":
			bit = seenReceivedAt
			d.ReceivedAt, ok = p.timeValue()
		case "text":
			bit = seenText
			d.Text, ok = p.str()
		case "sender":
			bit = seenSender
			d.Sender, ok = p.sender()
		default:
			return Delivery{}, false
		}
		if !ok || seen&bit != 0 {
			return Delivery{}, false
		}
		seen |= bit
		p.skipSpace()
		if p.consume('}') {
			break
		}
		if !p.consume(',') {
			return Delivery{}, false
		}
	}
	p.skipSpace()
	if p.i != len(s) {
		return Delivery{}, false
	}
	return d, true
}

// sender reads the sender object: {} or its two known members, each at most once.
func (p *jsonScanner) sender() (snd Sender, ok bool) {
	if !p.consume('{') {
		return Sender{}, false
	}
	p.skipSpace()
	if p.consume('}') {
		return Sender{}, true
	}
	var seenAddress, seenUserAgent bool
	for {
		p.skipSpace()
		key, ok := p.plainKey()
		if !ok {
			return Sender{}, false
		}
		p.skipSpace()
		if !p.consume(':') {
			return Sender{}, false
		}
		p.skipSpace()
		switch {
		case key == "address" && !seenAddress:
			seenAddress = true
			snd.Address, ok = p.str()
		case key == "userAgent" && !seenUserAgent:
			seenUserAgent = true
			snd.UserAgent, ok = p.str()
		default:
			return Sender{}, false
		}
		if !ok {
			return Sender{}, false
		}
		p.skipSpace()
		if p.consume('}') {
			return snd, true
		}
		if !p.consume(',') {
			return Sender{}, false
		}
	}
}

// jsonScanner reads JSON tokens from s at i. Its methods report !ok for what they do not
// handle, invalid JSON included, and then the position is unspecified.
type jsonScanner struct {
	s string
	i int
}

func (p *jsonScanner) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// plainKey reads an object key made of ASCII letters only, the only keys the envelope
// has; any other key, escaped ones included, is !ok.
func (p *jsonScanner) plainKey() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			key := p.s[start:p.i]
			p.i++
			return key, key != ""
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", false
		}
		p.i++
	}
	return "", false
}

// smallInt reads an integer of at most nine digits in JSON's syntax (no leading zeros);
// a fraction or exponent, which an int field refuses, is !ok.
func (p *jsonScanner) smallInt() (int, bool) {
	neg := p.consume('-')
	start := p.i
	n := 0
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 9 || (digits > 1 && p.s[start] == '0') {
		return 0, false
	}
	if p.i < len(p.s) {
		if c := p.s[p.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// timeValue reads a JSON string and decodes it as encoding/json does for a time.Time:
// time.Time's UnmarshalJSON on the raw literal, escapes and all.
func (p *jsonScanner) timeValue() (time.Time, bool) {
	start := p.i
	if _, ok := p.str(); !ok {
		return time.Time{}, false
	}
	var buf [64]byte
	var t time.Time
	if err := t.UnmarshalJSON(append(buf[:0], p.s[start:p.i]...)); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// str reads a JSON string: a substring of the input when it has no escapes, else its
// unescaped copy.
func (p *jsonScanner) str() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.i
	p.i += plainStringPrefix(p.s[p.i:])
	if p.i == len(p.s) {
		return "", false
	}
	switch p.s[p.i] {
	case '"':
		p.i++
		return p.s[start : p.i-1], true
	case '\\':
		return p.unescape(start)
	}
	return "", false // a control byte
}

// unescape finishes a string that starts at start and has an escape at p.i.
func (p *jsonScanner) unescape(start int) (string, bool) {
	var b strings.Builder
	b.Grow(len(p.s) - start) // the rest of the input is at least as long as the string
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		run := p.i
		p.i += plainStringPrefix(p.s[p.i:])
		b.WriteString(p.s[run:p.i])
		if p.i == len(p.s) {
			break
		}
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return b.String(), true
		case c < ' ':
			return "", false
		}
		// c is a backslash.
		if p.i+1 >= len(p.s) {
			return "", false
		}
		switch e := p.s[p.i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := hex4(p.s, p.i)
			if r < 0 {
				return "", false
			}
			p.i += 6
			if utf16.IsSurrogate(r) {
				// A valid pair is one rune; anything else leaves a lone surrogate,
				// which becomes U+FFFD (and what follows is read on its own).
				if dec := utf16.DecodeRune(r, hex4(p.s, p.i)); dec != utf8.RuneError {
					p.i += 6
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
			continue
		default:
			return "", false
		}
		p.i += 2
	}
	return "", false
}

// hex4 is the code unit of a \uXXXX escape at s[i:], or -1 when there is none.
func hex4(s string, i int) rune {
	if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range []byte(s[i+2 : i+6]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
