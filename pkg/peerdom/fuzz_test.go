package peerdom

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse checks the parser's invariants on any text: it never panics, keeps the text
// unchanged, lists exactly the fields of its changes in changedFields, reports nothing
// but the text for an unrecognized message, and gives JSON that decodes back.
// Seeds are in testdata/fuzz/FuzzParse; run with `go test -fuzz FuzzParse ./pkg/peerdom`.
func FuzzParse(f *testing.F) {
	f.Add("**[Role](https://app.peerdom.org/acme/roles/ops)** was updated\n\n**Author:** Jane Doe (jane@example.com)\n\n**Skills:** [+] Go [-] Java")
	f.Fuzz(func(t *testing.T, text string) {
		d := Parse(text)
		if d.Text != text {
			t.Fatalf("text changed: %q -> %q", text, d.Text)
		}
		if len(d.ChangedFields) != len(d.Changes) {
			t.Fatalf("changedFields %q for %d changes", d.ChangedFields, len(d.Changes))
		}
		for i, c := range d.Changes {
			if d.ChangedFields[i] != c.Field {
				t.Fatalf("changedFields[%d] = %q, change field %q", i, d.ChangedFields[i], c.Field)
			}
		}
		if d.Action != ActionUpdated && len(d.Changes) > 0 {
			t.Fatalf("%s message with changes", d.Action)
		}
		if !d.Recognized() && (d.Entity != "" || d.Action != "" || len(d.Fields) > 0 || len(d.Changes) > 0 || d.Author != nil || d.URL != "") {
			t.Fatalf("unrecognized message carries parsed values: %+v", d)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := DecodeDetail(b)
		if err != nil {
			t.Fatalf("decode own JSON: %v\n%s", err, b)
		}
		// JSON carries text losslessly when it is UTF-8; invalid bytes become U+FFFD.
		if utf8.ValidString(text) && back.Text != text {
			t.Fatalf("text changed in a JSON round trip: %q", back.Text)
		}
	})
}

// FuzzDecodeDelivery checks the envelope decoder on any body: it never panics, refuses
// with ErrInvalidDelivery, and what it accepts comes back the same through EncodeDelivery.
// Seeds are in testdata/fuzz/FuzzDecodeDelivery.
func FuzzDecodeDelivery(f *testing.F) {
	f.Add([]byte(`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"Role was created","sender":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeDelivery(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidDelivery) {
				t.Fatalf("DecodeDelivery(%q): %v is not ErrInvalidDelivery", body, err)
			}
			return
		}
		envelope, err := EncodeDelivery(d)
		if err != nil {
			t.Fatalf("EncodeDelivery(%+v): %v", d, err)
		}
		back, err := DecodeDeliveryString(envelope)
		if err != nil || !sameDelivery(back, d) {
			t.Fatalf("round trip of %q through %s:\n got %+v, %v\nwant %+v", body, envelope, back, err, d)
		}
	})
}

// sameDelivery compares two deliveries, their times as instants: JSON writes a zero
// offset as Z, which reads back as UTC.
func sameDelivery(a, b Delivery) bool {
	at, bt := a.ReceivedAt, b.ReceivedAt
	a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}

// FuzzDeliveryRoundTrip checks that any delivery of valid UTF-8 survives EncodeDelivery
// and DecodeDelivery, and that the envelope never holds U+FFFE or U+FFFF raw.
func FuzzDeliveryRoundTrip(f *testing.F) {
	f.Add("Role was created <b>&</b> \uFFFE\uFFFF\u2028", "req-1", "192.0.2.1", "Peerdom", int64(1798711200), int64(5))
	f.Fuzz(func(t *testing.T, text, id, address, userAgent string, sec, nsec int64) {
		for _, s := range []string{text, id, address, userAgent} {
			if !utf8.ValidString(s) {
				return // JSON carries valid UTF-8 only; ingest's text is decoded JSON
			}
		}
		d := NewDelivery(id, time.Unix(sec%(1<<35), nsec), text, Sender{Address: address, UserAgent: userAgent})
		envelope, err := EncodeDelivery(d)
		if err != nil {
			t.Fatalf("EncodeDelivery(%+v): %v", d, err)
		}
		if strings.ContainsAny(envelope, "\uFFFE\uFFFF") {
			t.Fatalf("envelope %q holds U+FFFE or U+FFFF raw", envelope)
		}
		back, err := DecodeDelivery([]byte(envelope))
		if text == "" {
			if !errors.Is(err, ErrInvalidDelivery) {
				t.Fatalf("an envelope without text decoded: %+v, %v", back, err)
			}
			return
		}
		if err != nil || !sameDelivery(back, d) {
			t.Fatalf("round trip through %s:\n got %+v, %v\nwant %+v", envelope, back, err, d)
		}
	})
}

// FuzzDecodeWebhook checks the body decoder on any body: it never panics, every refusal
// is a *BodyError, and an accepted text is what encoding/json reads as the body's "text"
// string, and not blank.
func FuzzDecodeWebhook(f *testing.F) {
	for _, body := range []string{`{"text":"Role was created"}`, `{"text":null}`, `{"text":1e999}`, `[]`, `null`, `{"TEXT":"a","text":" "}`} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := DecodeWebhook(body)
		var reference struct {
			Text *string `json:"text"`
		}
		referenceErr := json.Unmarshal(body, &reference)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) || be.Reason == "" {
				t.Fatalf("DecodeWebhook(%q): %v is not a *BodyError with a reason", body, err)
			}
			if referenceErr == nil && reference.Text != nil && strings.TrimSpace(*reference.Text) != "" &&
				bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
				t.Fatalf("DecodeWebhook(%q) refused a body with the text %q: %v", body, *reference.Text, err)
			}
			return
		}
		if referenceErr != nil || reference.Text == nil || *reference.Text != w.Text || strings.TrimSpace(w.Text) == "" {
			t.Fatalf("DecodeWebhook(%q) = %q; encoding/json reads %v, %v", body, w.Text, reference.Text, referenceErr)
		}
	})
}
