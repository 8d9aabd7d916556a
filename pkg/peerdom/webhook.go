package peerdom

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// DecodeWebhook reads a webhook body: a JSON object with a non-empty string "text".
// Every way a body can be wrong gives a *BodyError naming it.
func DecodeWebhook(body []byte) (Webhook, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return Webhook{}, &BodyError{Reason: "body is empty; expected a JSON object with a \"text\" string"}
	}
	if !json.Valid(trimmed) {
		var v any
		err := json.Unmarshal(trimmed, &v)
		return Webhook{}, &BodyError{Reason: fmt.Sprintf("body is not valid JSON (%v)", err)}
	}
	if trimmed[0] != '{' {
		return Webhook{}, &BodyError{Reason: "body must be a JSON object, got " + jsonKind(trimmed[0])}
	}
	var raw struct {
		Text json.RawMessage `json:"text"`
	}
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return Webhook{}, &BodyError{Reason: fmt.Sprintf("body is not a valid webhook object (%v)", err)}
	}
	if raw.Text == nil {
		return Webhook{}, &BodyError{Reason: "body has no \"text\" field"}
	}
	if raw.Text[0] != '"' {
		return Webhook{}, &BodyError{Reason: "\"text\" must be a string, got " + jsonKind(raw.Text[0])}
	}
	var w Webhook
	if err := json.Unmarshal(raw.Text, &w.Text); err != nil {
		return Webhook{}, &BodyError{Reason: fmt.Sprintf("\"text\" is not a valid string (%v)", err)}
	}
	if len(bytes.TrimSpace([]byte(w.Text))) == 0 {
		return Webhook{}, &BodyError{Reason: "\"text\" is empty"}
	}
	return w, nil
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
