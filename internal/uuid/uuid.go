// Package uuid makes random (version 4) UUID strings: the shape of the ids that SQS,
// EventBridge and Peerdom give out, for the in-memory twins that stand in for them.
package uuid

import (
	"crypto/rand"
	"fmt"
)

// New returns a random version 4 UUID, lower-case, 8-4-4-4-12.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
