package peerdom

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/corpus"
)

// The reference for DecodeDelivery's scanner is decodeDeliveryJSON: DecodeDelivery as it
// was, with encoding/json, and still its fallback.

// sameDelivery compares two decoded envelopes, the time by instant, zone and text form.
func sameDelivery(a, b Delivery) bool {
	an, ao := a.ReceivedAt.Zone()
	bn, bo := b.ReceivedAt.Zone()
	return a.Version == b.Version && a.ID == b.ID && a.Text == b.Text && a.Sender == b.Sender &&
		a.ReceivedAt.Equal(b.ReceivedAt) && an == bn && ao == bo && a.ReceivedAt.IsZero() == b.ReceivedAt.IsZero() &&
		a.ReceivedAt.Format(time.RFC3339Nano) == b.ReceivedAt.Format(time.RFC3339Nano)
}

// checkDecodeDelivery compares DecodeDelivery and DecodeDeliveryString with the
// reference on one body, and, when the scanner takes the body, encoding/json's reading
// of it with the scanner's. It reports whether the scanner took it.
func checkDecodeDelivery(t *testing.T, body []byte) (scanned bool) {
	t.Helper()
	want, wantErr := decodeDeliveryJSON(body)
	for name, decode := range map[string]func() (Delivery, error){
		"DecodeDelivery":       func() (Delivery, error) { return DecodeDelivery(body) },
		"DecodeDeliveryString": func() (Delivery, error) { return DecodeDeliveryString(string(body)) },
	} {
		got, err := decode()
		if !sameError(err, wantErr) || !sameDelivery(got, want) {
			t.Fatalf("%s(%q)\n got %+v, %v\nwant %+v, %v", name, body, got, err, want, wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidDelivery) {
			t.Fatalf("%s(%q): error %v is not ErrInvalidDelivery", name, body, err)
		}
	}
	d, ok := scanDelivery(string(body))
	if ok {
		var ref Delivery
		if err := json.Unmarshal(body, &ref); err != nil || !sameDelivery(d, ref) {
			t.Fatalf("scanDelivery(%q) took it as %+v; encoding/json: %+v, %v", body, d, ref, err)
		}
	}
	return ok
}

// envelopeBodies encodes a delivery the ways an envelope may be written: as ingest does
// (no HTML escaping), as json.Marshal does, and indented.
func envelopeBodies(t testing.TB, d Delivery) [][]byte {
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	escaped, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	indented, err := json.MarshalIndent(d, "\t", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{plain.Bytes(), escaped, indented}
}

// TestDecodeDeliveryScansEnvelopes checks the scanner takes (and reads right) every
// corpus text in an envelope, however encoded: the fast path is the usual path.
func TestDecodeDeliveryScansEnvelopes(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123000000, time.UTC)
	texts := []string{"x", "<b>&amp;</b> \u2028 \x01 é 🎉 \"q\" \\ /"}
	for _, c := range corpus.Load(t) {
		texts = append(texts, c.Text)
	}
	for _, text := range texts {
		for _, d := range []Delivery{
			NewDelivery("Jk3sZhVuIAMEbXw=", at, text, Sender{Address: "203.0.113.9", UserAgent: "Peerdom-Webhooks/1.0"}),
			NewDelivery("id", at.In(time.FixedZone("CET", 3600)), text, Sender{}),
		} {
			for _, body := range envelopeBodies(t, d) {
				if !checkDecodeDelivery(t, body) {
					t.Errorf("the scanner did not take %s", body)
				}
			}
		}
	}
}

// deliveryEdgeCases are bodies for every branch of the scanner: what it takes and what
// it leaves to encoding/json, valid or not.
var deliveryEdgeCases = []string{
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{}}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}`,
	` {"text":"x" , "receivedAt" : "2026-01-01T00:00:00.5+01:00","id":"a","version":1}` + "\r\n\t ",
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{"address":"1.2.3.4","userAgent":"ua"}}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{ "userAgent" : "ua" , "address":"1.2.3.4" }}`,
	// Validation.
	`{}`, `{"version":0,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}`,
	`{"version":2,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}`,
	`{"version":1,"receivedAt":"2026-01-01T00:00:00Z","text":"x"}`, `{"version":1,"id":"a","text":"x"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z"}`, `{"version":1,"id":"","receivedAt":"2026-01-01T00:00:00Z","text":""}`,
	`{"version":1,"id":"a","receivedAt":"0001-01-01T00:00:00Z","text":"x"}`,
	// Numbers.
	`{"version":-0,"id":"a"}`, `{"version":-1,"id":"a"}`, `{"version":01,"id":"a"}`, `{"version":1.0,"id":"a"}`,
	`{"version":1e0,"id":"a"}`, `{"version":1E0,"id":"a"}`, `{"version":123456789,"id":"a"}`, `{"version":1234567890,"id":"a"}`,
	`{"version":99999999999999999999,"id":"a"}`, `{"version":-,"id":"a"}`, `{"version":"1","id":"a"}`, `{"version":true}`,
	`{"version":1x}`, `{"version":1 2}`,
	// Keys.
	`{"Version":1,"ID":"a","receivedat":"2026-01-01T00:00:00Z","TEXT":"x"}`, `{"versio\u006e":1}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","extra":[1,{"a":null}]}`,
	`{"version":1,"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}`,
	`{"version":1,"id":"a","id":"b","receivedAt":"2026-01-01T00:00:00Z","text":"x"}`, `{"":1}`, `{"v":1}`, `{"id1":1}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{"address":"a"},"sender":{"userAgent":"b"}}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{"address":"a","address":"b"}}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{"Address":"a","other":1}}`,
	// Null and other types.
	`{"version":1,"id":null,"receivedAt":"2026-01-01T00:00:00Z","text":"x"}`, `{"version":1,"id":"a","receivedAt":null,"text":"x"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":null}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":"s"}`, `{"version":1,"id":5}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":["x"]}`, `null`, `[]`, `"x"`, `1`, ``, ` `,
	// Times.
	`{"version":1,"id":"a","receivedAt":"2026-01-01","text":"x"}`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00","text":"x"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00+24:00","text":"x"}`, `{"version":1,"id":"a","receivedAt":"2026-01-01t00:00:00z","text":"x"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00.123456789-23:59","text":"x"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00\u005a","text":"x"}`, `{"version":1,"id":"a","receivedAt":"\"","text":"x"}`,
	`{"version":1,"id":"a","receivedAt":"` + strings.Repeat("9", 100) + `","text":"x"}`,
	// Strings: escapes, surrogates, invalid UTF-8, control characters.
	`{"version":1,"id":"a\"\\\/\b\f\n\r\t","receivedAt":"2026-01-01T00:00:00Z","text":"\u0000\u00e9\u20AC\uffff"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\ud83c\udf89 pair"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\ud83c lone high"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\udf89\ud83c reversed"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\ud83c\ud83c\udf89 high high low"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\ud83c\u0041 high then BMP"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"end high\ud83c"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\ud83c\uZZZZ"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\u12"}`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\x"}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\'"}`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"\`,
	"{\"version\":1,\"id\":\"a\xff\",\"receivedAt\":\"2026-01-01T00:00:00Z\",\"text\":\"x\\n\xed\xa0\x80 \xe2\x82 \xc3\"}",
	"{\"version\":1,\"id\":\"a\",\"receivedAt\":\"2026-01-01T00:00:00Z\",\"text\":\"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\"}",
	"{\"version\":1,\"id\":\"a\",\"receivedAt\":\"2026-01-01T00:00:00Z\",\"text\":\"tab\there\"}",
	"{\"version\":1,\"id\":\"a\",\"receivedAt\":\"2026-01-01T00:00:00Z\",\"text\":\"x\\nnew\nline\"}",
	"{\"version\":1,\"id\":\"a\",\"receivedAt\":\"2026-01-01T00:00:00Z\",\"text\":\"del \x7f é\"}",
	"\ufeff{\"version\":1}",
	// Truncated and trailing.
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}x`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"}{}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x"`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x",}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{,}}`,
	`{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{"address":"a",}}`, `{"version":1,"id":"a","receivedAt":"2026-01-01T00:00:00Z","text":"x","sender":{"address":"a" "userAgent":"b"}}`,
	`{"version":1 "id":"a"}`, `{"version" 1}`, `{version:1}`, `{"version":1,}`, `{,}`, `{`, `{"`, `{"version`,
}

// TestDecodeDeliveryMatchesEncodingJSON compares the scanner-backed decoders with the
// reference on the edge cases, checking some of them do take the fast path.
func TestDecodeDeliveryMatchesEncodingJSON(t *testing.T) {
	scanned := 0
	for _, body := range deliveryEdgeCases {
		if checkDecodeDelivery(t, []byte(body)) {
			scanned++
		}
	}
	if scanned < 20 {
		t.Errorf("the scanner took only %d of %d edge cases", scanned, len(deliveryEdgeCases))
	}
}

// FuzzDecodeDelivery compares DecodeDelivery with the reference on any body.
// Seeds are in testdata/fuzz/FuzzDecodeDelivery; run with
// `go test -fuzz FuzzDecodeDelivery ./pkg/peerdom`.
func FuzzDecodeDelivery(f *testing.F) {
	for _, body := range deliveryEdgeCases {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecodeDelivery(t, body)
	})
}

// TestDecodeDeliveryAllocations holds the scanner to its point: an envelope as ingest
// writes it costs the text's unescaping and nothing else.
func TestDecodeDeliveryAllocations(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for _, c := range corpus.Load(t) {
		body := string(envelopeBodies(t, NewDelivery("Jk3sZhVuIAMEbXw=", at, c.Text, Sender{Address: "203.0.113.9"}))[0])
		if n := testing.AllocsPerRun(20, func() { _, _ = DecodeDeliveryString(body) }); n > 1 {
			t.Errorf("%s: DecodeDeliveryString made %v allocations, want at most 1", c.Name, n)
		}
	}
}
