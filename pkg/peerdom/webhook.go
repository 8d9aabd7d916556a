package peerdom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxBodyBytes is the largest webhook body accepted. The event carries the text and the
// values parsed from it, and one EventBridge entry must stay under 256 KB.
const MaxBodyBytes = 100 * 1024

// Webhook is the body Peerdom POSTs: one Markdown text. Other JSON fields are ignored.
type Webhook struct {
	Text string `json:"text"`
}

// BodyError says what is wrong with a webhook body. Callers show Reason to the sender
// (HTTP 400, or a command-line message).
type BodyError struct {
	Reason string
}

func (e *BodyError) Error() string { return "invalid webhook body: " + e.Reason }

// noText stands in the text's place while the body is decoded: still there afterwards,
// it means the body has no "text" member (a JSON null leaves nil).
type noText struct{}

// DecodeWebhook reads a webhook body: a JSON object with a non-empty string "text".
// Every way a body can be wrong gives a *BodyError naming it. The body is decoded once:
// the text into an interface, so that what it holds instead of a string can be named.
func DecodeWebhook(body []byte) (Webhook, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return Webhook{}, &BodyError{Reason: "body is empty; expected a JSON object with a \"text\" string"}
	}
	raw := struct {
		Text any `json:"text"`
	}{Text: noText{}}
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &syntaxErr):
			return Webhook{}, &BodyError{Reason: fmt.Sprintf("body is not valid JSON (%v)", err)}
		case trimmed[0] != '{':
			return Webhook{}, &BodyError{Reason: "body must be a JSON object, got " + jsonKind(trimmed[0])}
		}
		// The text holds a number no float64 can: name what it holds.
		var text struct {
			Text json.RawMessage `json:"text"`
		}
		if json.Unmarshal(trimmed, &text) == nil && len(text.Text) > 0 {
			return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got " + jsonKind(text.Text[0])}
		}
		return Webhook{}, &BodyError{Reason: fmt.Sprintf("body is not a valid webhook object (%v)", err)}
	}
	if trimmed[0] != '{' {
		return Webhook{}, &BodyError{Reason: "body must be a JSON object, got null"} // null decodes into nothing
	}
	// encoding/json matches keys case-insensitively and keeps the last of duplicates:
	// {"text":A,"Text":B} would deliver B where another JSON reader sees A.
	if err := checkTextKey(trimmed); err != nil {
		return Webhook{}, err
	}
	switch text := raw.Text.(type) {
	case string:
		if strings.TrimSpace(text) == "" {
			return Webhook{}, &BodyError{Reason: "\"text\" is empty"}
		}
		return Webhook{Text: text}, nil
	case noText:
		return Webhook{}, &BodyError{Reason: "body has no \"text\" field"}
	case nil:
		return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got null"}
	case bool:
		return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got a boolean"}
	case float64:
		return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got a number"}
	case []any:
		return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got an array"}
	default:
		return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got an object"}
	}
}

// checkTextKey refuses a body whose top-level object has "text" twice, or a key that
// differs from "text" only in case. Almost every body holds the sequence "text" (quotes
// included, any case) once, as its key, and no \u escape (which could spell a key): only
// a body that does not is walked key by key.
func checkTextKey(body []byte) error {
	n, exact := 0, false
	for i := 0; i+6 <= len(body); i++ {
		if body[i] == '"' && body[i+5] == '"' && bytes.EqualFold(body[i+1:i+5], []byte("text")) {
			n++
			exact = string(body[i+1:i+5]) == "text"
		}
	}
	if n == 1 && exact && !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // {
		return nil // already decoded once: cannot happen
	}
	seen := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		switch {
		case key == "text":
			seen++
			if seen > 1 {
				return &BodyError{Reason: "body has \"text\" more than once"}
			}
		case strings.EqualFold(key, "text"):
			return &BodyError{Reason: fmt.Sprintf("body has the key %q: keys are case-sensitive, the text goes in \"text\"", key)}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// jsonKind names the JSON type that starts with b, for error messages.
func jsonKind(b byte) string {
	switch b {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
