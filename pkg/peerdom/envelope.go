package peerdom

import (
	"bytes"
	"encoding/json"
)

// EncodeDelivery is the queued form of a delivery (what DecodeDelivery reads): its JSON
// without HTML escaping, which would only inflate Markdown, and with U+FFFE and U+FFFF
// escaped, since SQS refuses them raw.
func EncodeDelivery(d Delivery) (string, error) {
	var buf bytes.Buffer
	buf.Grow(len(d.Text) + 256)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "", err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.Contains(b, []byte("\uFFFE")) || bytes.Contains(b, []byte("\uFFFF")) {
		b = bytes.ReplaceAll(b, []byte("\uFFFE"), []byte(`\ufffe`))
		b = bytes.ReplaceAll(b, []byte("\uFFFF"), []byte(`\uffff`))
	}
	return string(b), nil
}
