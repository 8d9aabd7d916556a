package memqueue

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRedriveMovesEachOnce: redrives racing each other and the consumer move every dead
// letter back exactly once, with its receives reset; in a loop, for the interleavings.
func TestRedriveMovesEachOnce(t *testing.T) {
	for round := range 100 {
		q := &Queue{MaxReceives: 1}
		const n = 20
		for i := range n {
			q.Send(t.Context(), fmt.Sprint("m", i))
		}
		for q.Len() > 0 {
			msgs, _ := q.Receive(t.Context(), MaxBatch, time.Minute)
			for _, m := range msgs {
				q.ChangeVisibility(t.Context(), m.Receipt, 0) // first receive was the last: dead
			}
		}
		if len(q.DeadLetters()) != n {
			t.Fatalf("round %d: %d dead letters, want %d", round, len(q.DeadLetters()), n)
		}
		ids := []string{q.DeadLetters()[0].ID, q.DeadLetters()[1].ID}
		var moved atomic.Int64
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				if g%2 == 0 {
					moved.Add(int64(q.Redrive(ids)))
				} else {
					moved.Add(int64(q.Redrive(nil)))
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for _, m := range q.Visible() {
			seen[m.Body]++
			if m.ReceiveCount != 0 {
				t.Fatalf("round %d: %s redriven with receive count %d", round, m.Body, m.ReceiveCount)
			}
		}
		if moved.Load() != n || len(seen) != n || q.Len() != n || len(q.DeadLetters()) != 0 {
			t.Fatalf("round %d: moved %d, %d distinct visible of %d, %d dead", round, moved.Load(), len(seen), q.Len(), len(q.DeadLetters()))
		}
	}
}
