// Package bus describes what peerbridge puts on an event bus, independent of AWS: the
// Entry, the per-entry Result of a put, the limits EventBridge's PutEvents sets, and
// Publish, which splits any number of entries into calls within those limits and tells
// which entries failed. internal/bus/eventbridgebus implements Putter with EventBridge, internal/bus/membus in
// memory. Standard library only.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// EventBridge's PutEvents limits: at most MaxEntriesPerPut entries per call, and their
// sizes (Entry.Size) must add up to at most MaxPutBytes (256 KB).
const (
	MaxEntriesPerPut = 10
	MaxPutBytes      = 256 * 1024
)

// Entry is one event to put on a bus. Detail is a JSON object.
type Entry struct {
	Source     string
	DetailType string
	Detail     string
	Time       time.Time // zero: the bus stamps the time it received the entry
	Resources  []string
}

// Size is the entry's size as EventBridge counts it against MaxPutBytes: 14 bytes for
// the time plus the UTF-8 bytes of Source, DetailType, Detail and each resource.
func (e Entry) Size() int {
	n := 14 + len(e.Source) + len(e.DetailType) + len(e.Detail)
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// Result is the bus's answer for one entry of a put: an event id when it was accepted,
// else an error code and message.
type Result struct {
	EventID      string
	ErrorCode    string
	ErrorMessage string
}

// Err is nil for an accepted entry, else an *EntryError.
func (r Result) Err() error {
	if r.ErrorCode == "" && r.ErrorMessage == "" {
		return nil
	}
	return &EntryError{Code: r.ErrorCode, Message: r.ErrorMessage}
}

// EntryError is a bus's refusal of one entry (EventBridge's per-entry ErrorCode and
// ErrorMessage); the other entries of the same call may have been accepted.
type EntryError struct {
	Code    string
	Message string
}

func (e *EntryError) Error() string { return "bus rejected the entry: " + e.Code + ": " + e.Message }

// Putter puts entries on a bus in one call, like EventBridge's PutEvents: the caller keeps
// within MaxEntriesPerPut and MaxPutBytes; the answer has one Result per entry, in order.
// An error means the call as a whole failed and no entry is known to be on the bus.
// PutEvents only reads the entries (Publish may pass a part of its caller's slice).
type Putter interface {
	PutEvents(ctx context.Context, entries []Entry) ([]Result, error)
}

// ErrEntryTooLarge is returned (wrapped) for an entry that alone exceeds MaxPutBytes; it
// is never sent, and retrying it cannot help.
var ErrEntryTooLarge = errors.New("entry exceeds the event bus limit of 256 KB")

// Published is what Publish reports for one entry.
type Published struct {
	EventID string // set when the entry is on the bus
	Err     error  // set when it is not
}

// Publish puts entries on the bus in as few calls as the limits allow, keeping their
// order, and returns one Published per entry (same index). An entry too large on its
// own fails alone; a call that fails as a whole fails only its own entries, and later
// calls are still made.
func Publish(ctx context.Context, p Putter, entries []Entry) []Published {
	out := make([]Published, len(entries))
	chunk := make([]int, 0, MaxEntriesPerPut) // indexes of the entries of the next call
	size := 0                                 // their total Size
	flush := func() {
		if len(chunk) > 0 {
			put(ctx, p, entries, chunk, out)
		}
		chunk, size = chunk[:0], 0
	}
	for i, e := range entries {
		n := e.Size()
		if n > MaxPutBytes {
			out[i].Err = fmt.Errorf("%w (%d bytes, the limit is %d)", ErrEntryTooLarge, n, MaxPutBytes)
			continue
		}
		if len(chunk) == MaxEntriesPerPut || size+n > MaxPutBytes {
			flush()
		}
		chunk = append(chunk, i)
		size += n
	}
	flush()
	return out
}

// put makes one call for the entries at the given indexes and records the outcome.
func put(ctx context.Context, p Putter, entries []Entry, idx []int, out []Published) {
	var batch []Entry
	if first, last := idx[0], idx[len(idx)-1]; last-first == len(idx)-1 {
		batch = entries[first : last+1 : last+1] // consecutive entries, the usual case: no copy
	} else {
		batch = make([]Entry, len(idx))
		for j, i := range idx {
			batch[j] = entries[i]
		}
	}
	results, err := p.PutEvents(ctx, batch)
	if err == nil && len(results) != len(batch) {
		err = fmt.Errorf("bus answered %d results for %d entries", len(results), len(batch))
	}
	for j, i := range idx {
		if err != nil {
			out[i].Err = fmt.Errorf("put events: %w", err)
			continue
		}
		if rerr := results[j].Err(); rerr != nil {
			out[i].Err = rerr
			continue
		}
		out[i].EventID = results[j].EventID
	}
}

// Publisher puts single events on a Putter through Publish: it is pkg/action's Publisher
// (enrich's snapshots) on any bus here.
type Publisher struct{ Putter }

// Publish puts one event and returns the bus's event id.
func (p Publisher) Publish(ctx context.Context, source, detailType string, detail json.RawMessage, at time.Time) (string, error) {
	res := Publish(ctx, p.Putter, []Entry{{Source: source, DetailType: detailType, Detail: string(detail), Time: at}})
	return res[0].EventID, res[0].Err
}
