package peerdom

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeWebhook(t *testing.T) {
	tests := []struct {
		body    string
		want    string // text, when valid
		wantErr string // a part of the reason, when invalid
	}{
		{body: `{"text":"Role was created"}`, want: "Role was created"},
		{body: ` {"text":"Role","extra":1,"other":{"a":[1]}} `, want: "Role"},
		{body: `{"text":"line\nnext \u2192"}`, want: "line\nnext →"},
		{body: ``, wantErr: "body is empty"},
		{body: `  `, wantErr: "body is empty"},
		{body: `{"text":`, wantErr: "not valid JSON"},
		{body: `text=hello`, wantErr: "not valid JSON"},
		{body: `{"text":"a"} {"text":"b"}`, wantErr: "not valid JSON"},
		{body: `["text"]`, wantErr: "must be a JSON object, got an array"},
		{body: `"text"`, wantErr: "must be a JSON object, got a string"},
		{body: `null`, wantErr: "must be a JSON object, got null"},
		{body: `42`, wantErr: "must be a JSON object, got a number"},
		{body: `{}`, wantErr: `no "text" field`},
		{body: `{"message":"hi"}`, wantErr: `no "text" field`},
		{body: `{"text":null}`, wantErr: `"text" must be a string, got null`},
		{body: `{"text":5}`, wantErr: `"text" must be a string, got a number`},
		{body: `{"text":{"a":1}}`, wantErr: `"text" must be a string, got an object`},
		{body: `{"text":["a"]}`, wantErr: `"text" must be a string, got an array`},
		{body: `{"text":true}`, wantErr: `"text" must be a string, got a boolean`},
		{body: `{"text":1e999}`, wantErr: `"text" must be a string, got a number`},
		{body: `{"text":{"a":[1e999]}}`, wantErr: `"text" must be a string, got an object`},
		// Keys are case-sensitive and "text" comes once: readers that keep the first
		// duplicate, or match keys exactly, would see another text.
		{body: `{"text":5,"text":"later"}`, wantErr: `"text" more than once`},
		{body: `{"text":"A","text":"B"}`, wantErr: `"text" more than once`},
		{body: `{"text":"A","Text":"B"}`, wantErr: `the key "Text"`},
		{body: `{"TEXT":"A"}`, wantErr: `the key "TEXT"`},
		{body: `{"Text":"A"}`, wantErr: `keys are case-sensitive`},
		{body: `{"text":"A","text":"B"}`, wantErr: `"text" more than once`},
		{body: `{"text":"say \"text\" or \"Text\"","other":{"Text":1,"text":2}}`, want: `say "text" or "Text"`},
		{body: `{"text":"café"}`, want: "café"},
		{body: `{"text":""}`, wantErr: `"text" is empty`},
		{body: `{"text":" \n\t "}`, wantErr: `"text" is empty`},
	}
	for _, tt := range tests {
		w, err := DecodeWebhook([]byte(tt.body))
		if tt.wantErr != "" {
			var be *BodyError
			if !errors.As(err, &be) || !strings.Contains(be.Reason, tt.wantErr) {
				t.Errorf("DecodeWebhook(%q) error = %v, want a BodyError containing %q", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || w.Text != tt.want {
			t.Errorf("DecodeWebhook(%q) = %q, %v; want %q", tt.body, w.Text, err, tt.want)
		}
	}
}
