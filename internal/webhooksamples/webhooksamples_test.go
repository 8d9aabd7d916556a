package webhooksamples_test

import (
	"slices"
	"testing"

	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// What each sample must parse to (docs/contract.md).
var want = map[string]struct {
	detailType, name, entityID, authorEmail string
	changedFields                           []string
}{
	"role-created":  {"Role Created", "Facilitator", "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66", "jane@example.com", nil},
	"role-updated":  {"Role Updated", "Lead Facilitator", "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66", "jane@example.com", []string{"Name", "Skills"}},
	"role-deleted":  {"Role Deleted", "Lead Facilitator", "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66", "jane@example.com", nil},
	"group-created": {"Group Created", "Research", "5d7e1c3b-2a4f-4b6e-9c8d-7e6f5a4b3c2d", "jane@example.com", nil},
	"group-updated": {"Group Updated", "", "5d7e1c3b-2a4f-4b6e-9c8d-7e6f5a4b3c2d", "jane@example.com", []string{"Purpose"}},
	"group-deleted": {"Group Deleted", "Research", "5d7e1c3b-2a4f-4b6e-9c8d-7e6f5a4b3c2d", "", nil},
	"peer-created":  {"Peer Created", "Ada Lovelace", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "ops@acme.example", nil},
	"peer-updated":  {"Peer Updated", "", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "jane@example.com", []string{"Nickname", "Location", "Languages"}},
	"peer-deleted":  {"Peer Deleted", "Ada Lovelace", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "jane@example.com", nil},
	"test":          {peerdom.DetailTypeUnrecognized, "", "", "", nil},
}

func TestKinds(t *testing.T) {
	kinds := webhooksamples.Kinds()
	if len(kinds) != len(want) {
		t.Fatalf("Kinds() = %v, want %d kinds", kinds, len(want))
	}
	for _, k := range kinds {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected kind %q", k)
		}
	}
	if kinds[len(kinds)-1] != webhooksamples.Test {
		t.Errorf("Kinds() should end with %q: %v", webhooksamples.Test, kinds)
	}
	kinds[0] = "changed"
	if webhooksamples.Kinds()[0] == "changed" {
		t.Error("Kinds() shares its slice with the caller")
	}
	// Every entity × action is covered, in the order peerdom lists detail-types.
	var types []string
	for _, k := range webhooksamples.Kinds() {
		types = append(types, want[k].detailType)
	}
	if !slices.Equal(types, peerdom.DetailTypes()) {
		t.Errorf("detail-types of Kinds() = %v, want %v", types, peerdom.DetailTypes())
	}
	if _, ok := webhooksamples.Get("role-renamed"); ok {
		t.Error(`Get("role-renamed") reported a sample`)
	}
	if _, ok := webhooksamples.Body("all"); ok {
		t.Error(`Body("all") reported a sample`)
	}
}

// TestSamplesParse checks each sample against the real parser (pkg/peerdom).
func TestSamplesParse(t *testing.T) {
	for _, kind := range webhooksamples.Kinds() {
		t.Run(kind, func(t *testing.T) {
			text, ok := webhooksamples.Get(kind)
			if !ok || text == "" {
				t.Fatalf("Get(%q) = %q, %v", kind, text, ok)
			}
			w := want[kind]
			d := peerdom.Parse(text)
			if got := d.DetailType(); got != w.detailType {
				t.Fatalf("detail-type %q, want %q", got, w.detailType)
			}
			if d.Name != w.name || d.EntityID != w.entityID {
				t.Errorf("name %q entityId %q, want %q %q", d.Name, d.EntityID, w.name, w.entityID)
			}
			if d.Recognized() && d.Organization != "acme" {
				t.Errorf("organization %q, want acme", d.Organization)
			}
			var email string
			if d.Author != nil {
				email = d.Author.Email
			}
			if email != w.authorEmail {
				t.Errorf("author email %q, want %q", email, w.authorEmail)
			}
			if !slices.Equal(d.ChangedFields, w.changedFields) {
				t.Errorf("changedFields %v, want %v", d.ChangedFields, w.changedFields)
			}
			if d.Text != text {
				t.Error("the parsed text differs from the sample")
			}
		})
	}
}

// TestBodiesPassIngestChecks: each body is what ingest accepts, carrying the sample text.
func TestBodiesPassIngestChecks(t *testing.T) {
	for _, kind := range webhooksamples.Kinds() {
		body, ok := webhooksamples.Body(kind)
		if !ok {
			t.Fatalf("Body(%q) missing", kind)
		}
		if len(body) > peerdom.MaxBodyBytes {
			t.Errorf("%s: body of %d bytes is over the limit", kind, len(body))
		}
		w, err := peerdom.DecodeWebhook(body)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if text, _ := webhooksamples.Get(kind); w.Text != text {
			t.Errorf("%s: body text %q, want %q", kind, w.Text, text)
		}
	}
}
