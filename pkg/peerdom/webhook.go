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
