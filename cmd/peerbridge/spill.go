package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// spillItem is one line of serve's spill file: work accepted but still undelivered
// when the drain ran out of time. `peerbridge send --replay FILE` posts each item's
// text as a webhook again.
type spillItem struct {
	// Stage is "queue" (acknowledged, not yet on the bus) or "action" (on the bus, its
	// action not run: replaying it puts the event on the bus again, under a new id).
	Stage      string `json:"stage"`
	Function   string `json:"function,omitempty"` // the action, for stage "action"
	DeliveryID string `json:"deliveryId,omitempty"`
	ReceivedAt string `json:"receivedAt,omitempty"`
	Text       string `json:"text,omitempty"` // the webhook's text: what a replay posts
	// Envelope is a queue message that is not a delivery envelope, kept as it was.
	Envelope string `json:"envelope,omitempty"`
	// Event is the bus event of stage "action", as EventBridge delivers it.
	Event json.RawMessage `json:"event,omitempty"`
}

// spillItems turns what a stopped pipeline left into spill lines.
func spillItems(msgs []queue.Message, actions []localpipeline.PendingAction) []spillItem {
	items := make([]spillItem, 0, len(msgs)+len(actions))
	for _, m := range msgs {
		d, err := peerdom.DecodeDeliveryString(m.Body)
		if err != nil {
			items = append(items, spillItem{Stage: "queue", Envelope: m.Body})
			continue
		}
		items = append(items, spillItem{Stage: "queue", DeliveryID: d.ID, ReceivedAt: d.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Text: d.Text})
	}
	for _, a := range actions {
		item := spillItem{Stage: "action", Function: a.Function}
		if raw, err := json.Marshal(a.Event); err == nil {
			item.Event = raw
		}
		var detail struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}
		if json.Unmarshal(a.Event.Detail, &detail) == nil {
			item.DeliveryID, item.Text = detail.ID, detail.Text
		}
		items = append(items, item)
	}
	return items
}

// writeSpill writes the items as JSON lines to a new file (an existing one is not
// overwritten: it may hold an earlier run's spill).
func writeSpill(name string, items []spillItem) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readSpill reads a spill file; an unreadable line is an error naming it.
func readSpill(r io.Reader, name string) ([]spillItem, error) {
	var items []spillItem
	br := bufio.NewReaderSize(r, 64*1024)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if len(line) > 0 && string(line) != "\n" {
			var it spillItem
			if uerr := json.Unmarshal(line, &it); uerr != nil {
				return nil, fmt.Errorf("%s:%d: not a spill line: %v", name, lineNo, uerr)
			}
			items = append(items, it)
		}
		if err != nil {
			return items, nil
		}
	}
}
