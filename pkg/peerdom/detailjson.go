package peerdom

import (
	"encoding/json"
	"reflect"
	"time"
	"unicode/utf8"
)

// The hand-written JSON encoder of Detail and Change. Its output is byte for byte what
// encoding/json gives for these types (tests/fuzz compare the two): the same key order
// and omission rules, map keys sorted, and encoding/json's string escaping, HTML
// characters included. It exists because the worker encodes a detail per message and
// encoding/json's reflection cost several times the parse.

// AppendJSON appends the detail's JSON (what MarshalJSON returns) to dst. The only
// possible error is a ReceivedAt that JSON cannot carry (a year outside 0-9999 or a zone
// offset of 24 hours or more), reported as encoding/json reports it.
func (d *Detail) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, '{')
	dst = appendStringField(dst, `"id":`, d.ID)
	if !d.ReceivedAt.IsZero() {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, `"receivedAt":"`...)
		withTime, err := d.ReceivedAt.AppendText(dst)
		if err != nil {
			return dst[:start], timeMarshalError(d.ReceivedAt)
		}
		dst = append(withTime, '"')
	}
	dst = appendStringField(dst, `"entity":`, string(d.Entity))
	dst = appendStringField(dst, `"action":`, string(d.Action))
	dst = appendStringField(dst, `"name":`, d.Name)
	dst = appendStringField(dst, `"url":`, d.URL)
	dst = appendStringField(dst, `"organization":`, d.Organization)
	dst = appendStringField(dst, `"entityId":`, d.EntityID)
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	if d.Author != nil {
		dst = append(dst, `"author":{`...)
		n := len(dst)
		if d.Author.Name != "" {
			dst = append(dst, `"name":`...)
			dst = appendJSONString(dst, d.Author.Name)
		}
		if d.Author.Email != "" {
			if len(dst) > n {
				dst = append(dst, ',')
			}
			dst = append(dst, `"email":`...)
			dst = appendJSONString(dst, d.Author.Email)
		}
		dst = append(dst, "},"...)
	}

	dst = append(dst, `"fields":{`...)
	dst = appendSortedFields(dst, d.Fields)
	dst = append(dst, `},"changes":[`...)
	for i := range d.Changes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = d.Changes[i].appendJSON(dst)
	}
	dst = append(dst, `],"changedFields":`...)
	dst = appendStringArray(dst, d.ChangedFields)
	dst = append(dst, `,"text":`...)
	dst = appendJSONString(dst, d.Text)
	return append(dst, '}'), nil
}

// jsonSizeHint is a capacity for the detail's JSON that is usually enough: every string
// once, plus room for keys, punctuation and some escaping.
func (d *Detail) jsonSizeHint() int {
	n := 256 + len(d.ID) + len(d.Name) + len(d.URL) + len(d.Organization) + len(d.EntityID) + len(d.Text)
	if d.Author != nil {
		n += len(d.Author.Name) + len(d.Author.Email)
	}
	n += d.Fields.jsonSizeHint()
	for i := range d.Changes {
		n += d.Changes[i].jsonSizeHint()
	}
	for _, s := range d.ChangedFields {
		n += 3 + len(s)
	}
	return n + n/8
}

// timeMarshalError is the error encoding/json gives for a time it cannot encode.
func timeMarshalError(t time.Time) error {
	_, err := t.MarshalJSON()
	return &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
}

// appendStringField appends `,"key":"value"` (no comma first when the object at the end
// of dst is still empty), or nothing for an empty value: an omitempty string.
func appendStringField(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, key...)
	return appendJSONString(dst, value)
}

// appendStringArray appends a JSON array of the strings; nil is [] (never null).
func appendStringArray(dst []byte, items []string) []byte {
	dst = append(dst, '[')
	for i, s := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

func (c *Change) jsonSizeHint() int {
	n := 48 + len(c.Field) + len(c.Old) + len(c.New)
	for _, s := range c.Added {
		n += 3 + len(s)
	}
	for _, s := range c.Removed {
		n += 3 + len(s)
	}
	return n
}

// appendJSON appends what Change.MarshalJSON returns.
func (c *Change) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"field":`...)
	dst = appendJSONString(dst, c.Field)
	if c.IsList {
		dst = append(dst, `,"added":`...)
		dst = appendStringArray(dst, c.Added)
		dst = append(dst, `,"removed":`...)
		dst = appendStringArray(dst, c.Removed)
	} else {
		dst = append(dst, `,"old":`...)
		dst = appendJSONString(dst, c.Old)
		dst = append(dst, `,"new":`...)
		dst = appendJSONString(dst, c.New)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes encoding/json writes as they are (with its default HTML
// escaping): printable ASCII other than ", \, <, > and &.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		safe[b] = true
	}
	for _, b := range `"\<>&` {
		safe[b] = false
	}
	return safe
}()

// appendJSONString appends s as a JSON string exactly as encoding/json writes it: short
// escapes for ", \, \b, \f, \n, \r and \t, \u00XX for other control bytes and for <, >
// and &, \u2028 and \u2029 escaped, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; ; {
		i += safeJSONPrefix(s[i:])
		if i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
