package peerdom

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"testing"
)

func TestNewDeliveryIDIsARandomVersion4UUID(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewDeliveryID()
		if !shape.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q came twice", id)
		}
		seen[id] = true
	}
}

// A derived id must not change between releases: a run retried after an upgrade
// publishes what it found with the id consumers already de-duplicate on. These are a
// reconciliation difference's id and a snapshot's, as earlier releases made them.
func TestDerivedIDIsAVersion8UUIDThatDoesNotChange(t *testing.T) {
	for want, parts := range map[string][]string{
		"05b0a6d1-3317-8815-bf35-6f87efe8e7f1": {"peerbridge reconcile", "role", "r1", "h1", "h2"},
		snapshotIDBefore("d-1", "r-1"):         {"peerbridge snapshot", "d-1", "r-1"},
	} {
		if got := DerivedID(parts...); got != want {
			t.Errorf("DerivedID(%q) = %s, want %s (as earlier releases made it)", parts, got, want)
		}
	}
}

// snapshotIDBefore is the snapshot id as enrich made it before DerivedID.
func snapshotIDBefore(causedBy, entityID string) string {
	sum := sha256.Sum256([]byte("peerbridge snapshot\x00" + causedBy + "\x00" + entityID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
