package memqueue

import "github.com/peerbridge/peerbridge/internal/queue"

// Redrive moves dead letters back to the queue, as SQS's message move task does: each
// goes to the end of the visible messages with its receive count reset, so it gets
// MaxReceives receives again. ids names them by message id; nil moves every dead
// letter. The move is one critical section, so a message is never in both lists or in
// neither, and two redrives at once cannot move one message twice. It returns how many
// it moved. MaxBacklog does not refuse a redrive: the messages were accepted already.
func (q *Queue) Redrive(ids []string) int {
	q.mu.Lock()
	defer q.unlock()
	moved := q.takeDead(ids, func(m queue.Message) {
		m.ReceiveCount, m.Receipt = 0, ""
		q.visible = append(q.visible, &message{Message: m})
		if q.Journal != nil {
			q.told = append(q.told, func() { q.Journal.Redriven(m) })
		}
	})
	if moved > 0 {
		q.signal()
	}
	return moved
}

// takeDead takes the dead letters ids names (by message id; nil: every one) out of the
// dead-letter list, handing each to take, and returns how many it took. The caller holds
// q.mu.
func (q *Queue) takeDead(ids []string, take func(m queue.Message)) int {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	kept := q.dead[:0]
	taken := 0
	for _, m := range q.dead {
		if ids != nil && !want[m.ID] {
			kept = append(kept, m)
			continue
		}
		take(m)
		taken++
	}
	clear(q.dead[len(kept):]) // drop the taken messages' bodies from the backing array
	q.dead = kept
	return taken
}

// Purger is a Journal that can also forget dead letters (Purge); a Journal without it
// finds purged letters again after a restart.
type Purger interface {
	Purged(m queue.Message)
}

// Purge drops dead letters, as SQS's PurgeQueue does to a dead-letter queue: ids names
// them by message id; nil drops every one. It returns how many it dropped.
func (q *Queue) Purge(ids []string) int {
	q.mu.Lock()
	defer q.unlock()
	return q.takeDead(ids, func(m queue.Message) {
		if p, ok := q.Journal.(Purger); ok {
			q.told = append(q.told, func() { p.Purged(m) })
		}
	})
}
