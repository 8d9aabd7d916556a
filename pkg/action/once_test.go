package action_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// go test ./pkg/action -run Concurrent -once.nostore runs the concurrency tests without
// a store, to see the race they guard against (they then fail).
var noStore = flag.Bool("once.nostore", false, "run the concurrent-delivery tests without an idempotency store")

const (
	rounds     = 200 // of concurrent deliveries, each on a fresh entity
	deliveries = 20  // at once, per round
)

// newOnce is the hook under test: the memory store, polling fast so a round stays short.
func newOnce() *action.Once {
	if *noStore {
		return nil
	}
	return &action.Once{Store: memstore.New(nil), PollMin: 500 * time.Microsecond, PollMax: 2 * time.Millisecond}
}

// deliverAtOnce runs the events through r concurrently, released together, and returns
// the runs' errors.
func deliverAtOnce(r *action.Runner, evs []action.Event) []error {
	errs := make([]error, len(evs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Go(func() {
			<-start
			errs[i] = r.Run(context.Background(), ev)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// copies makes n deliveries of one webhook event: distinct event ids (EventBridge's
// redeliveries) and either the same delivery id (one webhook) or distinct ones (several
// webhooks about the same entity).
func copies(n int, detailType string, d peerdom.Detail, sameDelivery bool) []action.Event {
	evs := make([]action.Event, n)
	delivery := peerdom.NewDeliveryID()
	for i := range evs {
		d := d
		d.ID = delivery
		if !sameDelivery {
			d.ID = peerdom.NewDeliveryID()
		}
		evs[i] = action.Event{ID: peerdom.NewDeliveryID(), Source: "peerdom", DetailType: detailType, Time: time.Now(), Detail: d}
	}
	return evs
}

// writesPerRound runs rounds of concurrent deliveries and returns how many rounds made
// each number of writes. setup makes the round's entity and its events.
func writesPerRound(t *testing.T, s *peerdomtest.Server, r *action.Runner, setup func() []action.Event) map[int]int {
	t.Helper()
	hist := map[int]int{}
	for round := range rounds {
		before := len(s.Writes())
		for i, err := range deliverAtOnce(r, setup()) {
			if err != nil {
				t.Fatalf("round %d, delivery %d: %v", round, i, err)
			}
		}
		hist[len(s.Writes())-before]++
	}
	return hist
}

func checkOneWriteEach(t *testing.T, hist map[int]int) {
	t.Helper()
	t.Logf("writes per round over %d rounds of %d concurrent deliveries (store: %v): %s", rounds, deliveries, !*noStore, fmtHist(hist))
	if hist[1] != rounds {
		t.Fatal("want 1 write in every round")
	}
}

func fmtHist(hist map[int]int) string {
	out := ""
	for _, n := range slices.Sorted(maps.Keys(hist)) {
		out += fmt.Sprintf(" %d write(s): %d rounds;", n, hist[n])
	}
	return out
}

func TestConcurrentPeerCreatedAssignsOnce(t *testing.T) {
	for _, sameDelivery := range []bool{true, false} {
		t.Run(map[bool]string{true: "one webhook redelivered", false: "several webhooks"}[sameDelivery], func(t *testing.T) {
			s := newPeerdom(t, nil)
			newcomer := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
			onboard, err := action.NewOnboardPeer(fastClient(s), []string{newcomer.ID})
			if err != nil {
				t.Fatal(err)
			}
			r := &action.Runner{Name: action.NameOnboardPeer, Handler: onboard, Once: newOnce(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			n := 0
			hist := writesPerRound(t, s, r, func() []action.Event {
				n++
				p := s.AddPeer(peerdomapi.Peer{FirstName: "Peer", LastName: fmt.Sprint(n)})
				return copies(deliveries, "Peer Created", peerdom.Detail{Entity: peerdom.EntityPeer, Action: peerdom.ActionCreated,
					EntityID: p.ID, Name: "Peer " + fmt.Sprint(n), Author: author("Jane Doe", janeEmail)}, sameDelivery)
			})
			checkOneWriteEach(t, hist)
			if got := len(s.Holders()); got != rounds {
				t.Fatalf("%d assignments, want %d", got, rounds)
			}
		})
	}
}

func TestConcurrentRoleCreatedFillsOnce(t *testing.T) {
	for _, sameDelivery := range []bool{true, false} {
		t.Run(map[bool]string{true: "one webhook redelivered", false: "several webhooks"}[sameDelivery], func(t *testing.T) {
			s := newPeerdom(t, nil)
			defaults, err := action.ParseFieldDefaults(`{"Purpose": "To be defined"}`)
			if err != nil {
				t.Fatal(err)
			}
			roleDefaults, err := action.NewRoleDefaults(fastClient(s), defaults)
			if err != nil {
				t.Fatal(err)
			}
			r := &action.Runner{Name: action.NameRoleDefaults, Handler: roleDefaults, Once: newOnce(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			n := 0
			hist := writesPerRound(t, s, r, func() []action.Event {
				n++
				role := s.AddRole(peerdomapi.Role{Name: fmt.Sprint("Role ", n)})
				return copies(deliveries, "Role Created", peerdom.Detail{Entity: peerdom.EntityRole, Action: peerdom.ActionCreated,
					EntityID: role.ID, Name: role.Name, Author: author("Jane Doe", janeEmail)}, sameDelivery)
			})
			checkOneWriteEach(t, hist)
		})
	}
}
