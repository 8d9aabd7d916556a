package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// spillItem is one line of serve's spill file: an accepted delivery (or an event no
// webhook made) still undelivered when the drain ran out of time, once, with what was
// still pending for it. `peerbridge serve --replay FILE` restores exactly that: a queued
// message is queued again as it was (same delivery id), an event on the bus gets only
// its pending actions (it is not put on the bus again).
type spillItem struct {
	// Stage is "queue" (acknowledged, not yet on the bus) or "action" (on the bus, some
	// of its actions not run).
	Stage      string `json:"stage"`
	DeliveryID string `json:"deliveryId,omitempty"`
	ReceivedAt string `json:"receivedAt,omitempty"`
	Text       string `json:"text,omitempty"` // the webhook's text, for people reading the file
	// Envelope is the queue message as queued (stage "queue"): what a replay queues again.
	Envelope string `json:"envelope,omitempty"`
	// Event is the bus event of stage "action", as EventBridge delivers it, and Pending
	// the actions (function and rule) it still waits for.
	Event   json.RawMessage `json:"event,omitempty"`
	Pending []spillAction   `json:"pending,omitempty"`
}

// spillAction is one pending action of a spilled event.
type spillAction struct {
	Function string `json:"function"`
	Rule     string `json:"rule"`
}

// spillItems turns what a stopped pipeline left into spill lines: one per queued message,
// one per event with pending actions (its actions together). A delivery both still
// queued and on the bus (its batch published, then cut short) is kept as on the bus only.
func spillItems(msgs []queue.Message, actions []localpipeline.PendingAction) []spillItem {
	items := make([]spillItem, 0, len(msgs)+len(actions))
	byEvent := map[string]int{} // event id -> index in items
	onBus := map[string]bool{}  // delivery ids
	for _, a := range actions {
		if i, ok := byEvent[a.Event.ID]; ok {
			items[i].Pending = append(items[i].Pending, spillAction{Function: a.Function, Rule: a.Rule})
			continue
		}
		item := spillItem{Stage: "action", Pending: []spillAction{{Function: a.Function, Rule: a.Rule}}}
		if raw, err := json.Marshal(a.Event); err == nil {
			item.Event = raw
		}
		var detail struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}
		if json.Unmarshal(a.Event.Detail, &detail) == nil {
			item.DeliveryID, item.Text = detail.ID, detail.Text
			onBus[detail.ID] = detail.ID != ""
		}
		byEvent[a.Event.ID] = len(items)
		items = append(items, item)
	}
	for _, m := range msgs {
		d, err := peerdom.DecodeDeliveryString(m.Body)
		if err != nil {
			items = append(items, spillItem{Stage: "queue", Envelope: m.Body})
			continue
		}
		if onBus[d.ID] {
			continue
		}
		items = append(items, spillItem{Stage: "queue", DeliveryID: d.ID, ReceivedAt: d.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Text: d.Text, Envelope: m.Body})
	}
	return items
}

// restoreSpill reads a spill file into what Pipeline.Replay takes.
func restoreSpill(name string) (envelopes []string, actions []localpipeline.StoredAction, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	items, err := readSpill(f, name)
	if err != nil {
		return nil, nil, err
	}
	for i, it := range items {
		switch it.Stage {
		case "queue":
			if it.Envelope == "" {
				return nil, nil, fmt.Errorf("%s:%d: a queue item without its envelope (a spill file of an older serve: post its texts with peerbridge send)", name, i+1)
			}
			envelopes = append(envelopes, it.Envelope)
		case "action":
			var ev events.CloudWatchEvent
			if err := json.Unmarshal(it.Event, &ev); err != nil || ev.ID == "" {
				return nil, nil, fmt.Errorf("%s:%d: an action item without a readable event", name, i+1)
			}
			if len(it.Pending) == 0 {
				return nil, nil, fmt.Errorf("%s:%d: an action item naming no pending action (a spill file of an older serve: post its texts with peerbridge send)", name, i+1)
			}
			for _, a := range it.Pending {
				actions = append(actions, localpipeline.StoredAction{Function: a.Function, Rule: a.Rule, Event: ev})
			}
		default:
			return nil, nil, fmt.Errorf("%s:%d: unknown stage %q", name, i+1, it.Stage)
		}
	}
	return envelopes, actions, nil
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
