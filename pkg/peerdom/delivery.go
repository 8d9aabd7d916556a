package peerdom

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DeliveryVersion is the version of the Delivery envelope this code writes and reads.
const DeliveryVersion = 1

// Sender is where a webhook came from, as ingest saw it.
type Sender struct {
	Address   string `json:"address,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// Delivery is the envelope ingest queues for one accepted webhook. The text is parsed
// later, by the worker; the ID stays the same across every retry of the delivery.
type Delivery struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"receivedAt"`
	Text       string    `json:"text"`
	Sender     Sender    `json:"sender"`
}

// NewDelivery wraps an accepted webhook text. An empty id gets a generated one.
func NewDelivery(id string, receivedAt time.Time, text string, sender Sender) Delivery {
	if id == "" {
		id = NewDeliveryID()
	}
	return Delivery{Version: DeliveryVersion, ID: id, ReceivedAt: receivedAt.UTC(), Text: text, Sender: sender}
}

// NewDeliveryID returns a random UUID (version 4) string. It is the one random id
// maker of peerbridge: delivery ids, and the ids its twins and leases make up.
func NewDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	return uuidString(b)
}

// DerivedID is a UUID (version 8, RFC 9562: custom) derived from parts, the first naming
// what the id is of: the same parts give the same id, so a retried step publishes an id
// that consumers de-duplicate on as on any detail.id. It is a SHA-256 of the parts, each
// ended by a NUL byte but the last.
func DerivedID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := [16]byte(sum[:16])
	b[6] = b[6]&0x0f | 0x80
	return uuidString(b)
}

// uuidString formats 16 bytes, whose version nibble (b[6]'s high half) is set, as a
// lower-case 8-4-4-4-12 UUID of RFC 9562's variant.
func uuidString(b [16]byte) string {
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ErrInvalidDelivery marks a queued message that is not a usable envelope; retrying it
// cannot help, but it must still reach the dead-letter queue rather than vanish.
var ErrInvalidDelivery = errors.New("invalid delivery envelope")

// DecodeDelivery reads a queued envelope (what EncodeDelivery writes) and checks it is
// one this code can process.
func DecodeDelivery(b []byte) (Delivery, error) {
	var d Delivery
	if err := json.Unmarshal(b, &d); err != nil {
		return Delivery{}, fmt.Errorf("%w: %v", ErrInvalidDelivery, err)
	}
	return checkDelivery(d)
}

// DecodeDeliveryString is DecodeDelivery for an envelope held in a string, as an SQS
// message body is.
func DecodeDeliveryString(body string) (Delivery, error) {
	return DecodeDelivery([]byte(body))
}

// checkDelivery passes a decoded envelope that this code can process, else it gives
// the reason it cannot.
func checkDelivery(d Delivery) (Delivery, error) {
	switch {
	case d.Version != DeliveryVersion:
		return Delivery{}, fmt.Errorf("%w: version %d, want %d", ErrInvalidDelivery, d.Version, DeliveryVersion)
	case d.ID == "":
		return Delivery{}, fmt.Errorf("%w: no id", ErrInvalidDelivery)
	case d.ReceivedAt.IsZero():
		return Delivery{}, fmt.Errorf("%w: no receivedAt", ErrInvalidDelivery)
	case d.Text == "":
		return Delivery{}, fmt.Errorf("%w: no text", ErrInvalidDelivery)
	}
	return d, nil
}
