package peerdom_test

import (
	"encoding/json"
	"testing"

	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// TestCorpus runs every shared example: the body decodes, and the parsed event has
// exactly the expected detail-type and detail, with the text unchanged.
func TestCorpus(t *testing.T) {
	for _, c := range corpus.Load(t) {
		t.Run(c.Name, func(t *testing.T) {
			w, err := peerdom.DecodeWebhook(c.Body)
			if err != nil {
				t.Fatalf("DecodeWebhook: %v", err)
			}
			d := peerdom.Parse(w.Text)
			if got := d.DetailType(); got != c.DetailType {
				t.Errorf("detail-type = %q, want %q", got, c.DetailType)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, b)
		})
	}
}
