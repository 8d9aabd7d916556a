package serve

import (
	"context"
	"strings"
)

// eventBlock is an event's heading and routing, and the lines of its actions so far.
type eventBlock struct {
	lines   []string
	pending map[string]bool // the functions that have not finished with it
}

// blockRef names one action's run on one event: the context of its API calls and log
// lines carries it (withBlockRef), so their lines join that event's block.
type blockRef struct {
	eventID  string
	function string
}

func withBlockRef(ctx context.Context, eventID, function string) context.Context {
	return context.WithValue(ctx, blockRef{}, blockRef{eventID: eventID, function: function})
}

// earlyLines are an event's action lines that came before its block was opened: the
// pipeline hands an event to its targets before it tells the display of it, so an action
// may call the API, and even finish, first.
type earlyLines struct {
	lines []string
	done  map[string]bool // the functions that finished
}

// open starts the block of an event routed to functions, with the lines its actions
// already wrote; it is written at once if they have all finished.
func (d *display) open(eventID, heading string, functions []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.blocks == nil {
		d.blocks = map[string]*eventBlock{}
	}
	b := &eventBlock{lines: []string{heading}, pending: map[string]bool{}}
	for _, f := range functions {
		b.pending[f] = true
	}
	if e := d.early[eventID]; e != nil {
		delete(d.early, eventID)
		b.lines = append(b.lines, e.lines...)
		for f := range e.done {
			delete(b.pending, f)
		}
	}
	if len(b.pending) == 0 {
		d.w.Write([]byte(strings.Join(b.lines, "\n") + "\n"))
		return
	}
	d.blocks[eventID] = b
}

// add puts a line in ref's event block (kept for the block when it is not open yet), or
// writes it at once when it belongs to no event; final marks ref's function done with the
// event, and the block is written whole when its last function is.
func (d *display) add(ref blockRef, final bool, line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.blocks[ref.eventID]
	if b == nil && ref.eventID == "" {
		d.w.Write([]byte(line + "\n"))
		return
	}
	if b == nil {
		if d.early == nil {
			d.early = map[string]*earlyLines{}
		}
		e := d.early[ref.eventID]
		if e == nil {
			e = &earlyLines{done: map[string]bool{}}
			d.early[ref.eventID] = e
		}
		e.lines = append(e.lines, line)
		if final {
			e.done[ref.function] = true
		}
		return
	}
	b.lines = append(b.lines, line)
	if final {
		delete(b.pending, ref.function)
	}
	if len(b.pending) == 0 {
		d.w.Write([]byte(strings.Join(b.lines, "\n") + "\n"))
		delete(d.blocks, ref.eventID)
	}
}

// flush writes the blocks still open (shutdown cut their actions short), and any action
// lines whose event the display never heard of.
func (d *display) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, b := range d.blocks {
		d.w.Write([]byte(strings.Join(b.lines, "\n") + "\n          (unfinished at shutdown)\n"))
		delete(d.blocks, id)
	}
	for id, e := range d.early {
		d.w.Write([]byte(strings.Join(e.lines, "\n") + "\n"))
		delete(d.early, id)
	}
}
