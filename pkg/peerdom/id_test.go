package peerdom

import (
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

// A difference's id must not change between releases: a run retried after an upgrade
// publishes what it found with the id consumers already de-duplicate on.
func TestDifferenceIDIsAVersion8UUIDThatDoesNotChange(t *testing.T) {
	if got, want := DifferenceID(EntityRole, "r1", "h1", "h2"), "05b0a6d1-3317-8815-bf35-6f87efe8e7f1"; got != want {
		t.Errorf("DifferenceID = %s, want %s (as earlier releases made it)", got, want)
	}
}
