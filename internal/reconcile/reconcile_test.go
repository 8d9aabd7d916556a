package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/idempotency/memstore"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// recorder is a bus that keeps what is put on it, and passes it on to next when set.
type recorder struct {
	next    bus.Putter
	mu      sync.Mutex
	entries []bus.Entry
}

func (r *recorder) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next != nil {
		res, err := r.next.PutEvents(ctx, entries)
		if err == nil {
			for i, e := range entries {
				if res[i].Err() == nil {
					r.entries = append(r.entries, e)
				}
			}
		}
		return res, err
	}
	out := make([]bus.Result, len(entries))
	for i, e := range entries {
		r.entries = append(r.entries, e)
		out[i].EventID = fmt.Sprintf("ev-%d", len(r.entries))
	}
	return out, nil
}

// events are the entity events on the bus (snapshots left out), decoded.
func (r *recorder) events(t *testing.T) []peerdom.Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []peerdom.Event
	for _, e := range r.entries {
		if e.Source == snapshotSource {
			continue
		}
		d, err := peerdom.DecodeDetail([]byte(e.Detail))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, peerdom.Event{Source: e.Source, DetailType: e.DetailType, Time: e.Time, Detail: d})
	}
	return out
}

// snapshotSource is the source of enrich's snapshots here, so a rule can leave them out.
const snapshotSource = "peerdom-snapshots"

// world is an organization in the double, webhooks going through the parser onto a bus
// and through enrich into the entity state, as in a deployed stack.
type world struct {
	srv   *peerdomtest.Server
	api   *peerdomapi.Client
	bus   *recorder
	state state.Store
	root  string
}

func newWorld(t *testing.T, st state.Store, b *recorder) *world {
	w := &world{bus: b, state: st}
	var enrich *action.Enrich
	w.srv = peerdomtest.NewServer(peerdomtest.Config{RootCircle: "Root", Webhook: func(ctx context.Context, body []byte) {
		hook, err := peerdom.DecodeWebhook(body)
		if err != nil {
			t.Errorf("webhook: %v", err)
			return
		}
		ev := peerdom.NewEvent("peerdom", peerdom.Delivery{ID: peerdom.NewDeliveryID(), ReceivedAt: time.Now().UTC(), Text: hook.Text})
		detail, _ := json.Marshal(ev.Detail)
		bus.Publish(ctx, w.bus, []bus.Entry{{Source: ev.Source, DetailType: ev.DetailType, Detail: string(detail), Time: ev.Time}})
		err = enrich.Handle(ctx, action.Event{Source: ev.Source, DetailType: ev.DetailType, Time: ev.Time, Detail: ev.Detail})
		if err != nil && !action.IsIgnored(err) {
			t.Errorf("enrich %s: %v", ev.DetailType, err)
		}
	}})
	t.Cleanup(w.srv.Close)
	w.api = w.srv.Client()
	enrich = &action.Enrich{API: w.api, Bus: bus.Publisher{Putter: b}, Source: snapshotSource, State: state.Webhook{Store: st}}
	root, _ := w.srv.RootCircle()
	w.root = root.ID
	return w
}

func (w *world) reconciler() *reconcile.Reconciler {
	return &reconcile.Reconciler{API: w.api, State: w.state, Bus: w.bus, Source: "peerdom"}
}

// ledger is what the bus must show of one entity after reconciliation.
type ledger struct {
	known, pendingCreate, deleted, pendingDelete bool
	pending                                      map[string]bool // fields changed by dropped webhooks
}

type writer struct {
	t       *testing.T
	w       *world
	rng     *rand.Rand
	seq     int
	peers   []string
	roles   []string
	groups  []string
	holders map[[2]string]bool // role, peer
	ledger  map[string]*ledger
	kinds   map[string]peerdom.Entity
	writes  int
	dropped int
}

func (wr *writer) entry(id string) *ledger {
	l := wr.ledger[id]
	if l == nil {
		l = &ledger{pending: map[string]bool{}}
		wr.ledger[id] = l
	}
	return l
}

// write runs one write, dropping its webhook with probability 30%, and books what
// the bus must show. fields are the message's field names the write changes.
func (wr *writer) write(id string, act peerdom.Action, fields []string, do func() string) {
	t := wr.t
	drop := wr.rng.Float64() < 0.3
	before := len(wr.w.srv.DroppedWebhooks())
	if drop {
		wr.w.srv.DropWebhooks(1)
	}
	if got := do(); got != "" {
		id = got
	}
	if err := wr.w.srv.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(wr.w.srv.DroppedWebhooks()) - before; (n == 1) != drop {
		t.Fatalf("write %d: %d webhooks dropped, want drop=%v (every write sends one webhook)", wr.writes, n, drop)
	}
	wr.writes++
	l := wr.entry(id)
	switch {
	case act == peerdom.ActionCreated && drop:
		l.pendingCreate = true
	case act == peerdom.ActionCreated:
		l.known = true
	case act == peerdom.ActionUpdated && l.known:
		for _, f := range fields {
			l.pending[f] = drop
		}
	case act == peerdom.ActionDeleted:
		l.deleted = true
		l.pendingDelete = drop && l.known
	}
	if drop {
		wr.dropped++
	}
}

func (wr *writer) name() string { wr.seq++; return fmt.Sprintf("n%03d", wr.seq) }

// must is for the double's answers, which fail only on a bug in the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func pick(rng *rand.Rand, ids []string) string { return ids[rng.IntN(len(ids))] }

// step makes one random write: create, update fields, assign or unassign a holder, delete.
func (wr *writer) step(ctx context.Context) {
	t, api, rng := wr.t, wr.w.api, wr.rng
	free := func(peer string) bool { // holds no role: its deletion changes no role
		for k := range wr.holders {
			if k[1] == peer {
				return false
			}
		}
		return true
	}
	switch op := rng.IntN(12); {
	case op == 0 || len(wr.peers) < 3:
		wr.write("", peerdom.ActionCreated, nil, func() string {
			p := must(api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "P", LastName: wr.name()}))
			wr.peers = append(wr.peers, p.ID)
			wr.kinds[p.ID] = peerdom.EntityPeer
			return p.ID
		})
	case op == 1 || len(wr.roles) < 3:
		wr.write("", peerdom.ActionCreated, nil, func() string {
			r := must(api.Roles().Create(ctx, peerdomapi.RoleInput{Name: wr.name(), MapID: wr.w.srv.LiveMap().ID, ParentID: wr.w.root}))
			wr.roles = append(wr.roles, r.ID)
			wr.kinds[r.ID] = peerdom.EntityRole
			return r.ID
		})
	case op == 2 || len(wr.groups) < 2:
		wr.write("", peerdom.ActionCreated, nil, func() string {
			g := must(api.Groups().Create(ctx, peerdomapi.GroupInput{Name: wr.name(), MapID: wr.w.srv.LiveMap().ID, ParentID: wr.w.root}))
			wr.groups = append(wr.groups, g.ID)
			wr.kinds[g.ID] = peerdom.EntityGroup
			return g.ID
		})
	case op == 3:
		id := pick(rng, wr.peers)
		wr.write(id, peerdom.ActionUpdated, []string{"Last name"}, func() string {
			must(api.Peers().Update(ctx, id, peerdomapi.PeerInput{FirstName: "P", LastName: wr.name()}))
			return ""
		})
	case op == 4:
		id := pick(rng, wr.peers)
		cur := must(api.Peers().Get(ctx, id, peerdomapi.Options{CustomFields: true}))
		langs, _ := peerdomapi.FieldValues(cur.CustomFields, "Languages")
		langs = append(slices.Clone(langs), wr.name(), wr.name()) // a list field
		wr.write(id, peerdom.ActionUpdated, []string{"Languages"}, func() string {
			must(api.Peers().Update(ctx, id, peerdomapi.PeerInput{FirstName: "P", CustomFields: peerdomapi.CustomFieldValues{"Languages": langs}}))
			return ""
		})
	case op == 5:
		id := pick(rng, wr.roles)
		wr.write(id, peerdom.ActionUpdated, []string{"Name"}, func() string {
			must(api.Roles().Update(ctx, id, peerdomapi.RoleInput{Name: wr.name()}))
			return ""
		})
	case op == 6:
		id := pick(rng, wr.roles)
		wr.write(id, peerdom.ActionUpdated, []string{"Purpose"}, func() string {
			must(api.Roles().Update(ctx, id, peerdomapi.RoleInput{CustomFields: peerdomapi.CustomFieldValues{"Purpose": {wr.name()}}}))
			return ""
		})
	case op == 7:
		id := pick(rng, wr.groups)
		wr.write(id, peerdom.ActionUpdated, []string{"Color"}, func() string {
			must(api.Groups().Update(ctx, id, peerdomapi.GroupInput{Color: fmt.Sprintf("#%06x", wr.seq)}))
			wr.seq++
			return ""
		})
	case op == 8:
		role, peer := pick(rng, wr.roles), pick(rng, wr.peers)
		if wr.holders[[2]string{role, peer}] {
			wr.write(role, peerdom.ActionUpdated, []string{"Holders"}, func() string {
				if err := api.UnassignPeer(ctx, role, peer); err != nil {
					t.Fatal(err)
				}
				delete(wr.holders, [2]string{role, peer})
				return ""
			})
			return
		}
		wr.write(role, peerdom.ActionUpdated, []string{"Holders"}, func() string {
			if err := api.AssignPeer(ctx, role, peerdomapi.Assignment{PeerID: peer}); err != nil {
				t.Fatal(err)
			}
			wr.holders[[2]string{role, peer}] = true
			return ""
		})
	case op == 9:
		i := rng.IntN(len(wr.roles))
		id := wr.roles[i]
		wr.write(id, peerdom.ActionDeleted, nil, func() string {
			if err := api.Roles().Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			wr.roles = slices.Delete(wr.roles, i, i+1)
			for k := range wr.holders {
				if k[0] == id {
					delete(wr.holders, k)
				}
			}
			return ""
		})
	case op == 10:
		var free_ []int
		for i, p := range wr.peers {
			if free(p) {
				free_ = append(free_, i)
			}
		}
		if len(free_) == 0 {
			wr.step(ctx)
			return
		}
		i := free_[rng.IntN(len(free_))]
		id := wr.peers[i]
		wr.write(id, peerdom.ActionDeleted, nil, func() string {
			if err := api.Peers().Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			wr.peers = slices.Delete(wr.peers, i, i+1)
			return ""
		})
	default:
		i := rng.IntN(len(wr.groups))
		id := wr.groups[i]
		wr.write(id, peerdom.ActionDeleted, nil, func() string {
			if err := api.Groups().Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			wr.groups = slices.Delete(wr.groups, i, i+1)
			return ""
		})
	}
}

// expected is what reconciliation must publish: per entity, "<action> <fields>".
func (wr *writer) expected() map[string]string {
	out := map[string]string{}
	for id, l := range wr.ledger {
		switch {
		case l.deleted && l.pendingDelete:
			out[id] = "deleted"
		case l.deleted:
		case l.pendingCreate && !l.known:
			out[id] = "created"
		case l.known:
			var fields []string
			for f, pending := range l.pending {
				if pending {
					fields = append(fields, f)
				}
			}
			if len(fields) > 0 {
				slices.Sort(fields)
				out[id] = "updated " + strings.Join(fields, ",")
			}
		}
	}
	return out
}

func summary(d peerdom.Detail) string {
	if d.Action != peerdom.ActionUpdated {
		return string(d.Action)
	}
	fields := slices.Clone(d.ChangedFields)
	slices.Sort(fields)
	return "updated " + strings.Join(fields, ",")
}

// TestDroppedWebhooksAreFoundOnce is the test: with 30% of webhooks dropped while
// 200 random writes happen, one reconciliation puts every missed change on the bus,
// once, and nothing a webhook reported.
func TestDroppedWebhooksAreFoundOnce(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			droppedWebhooksScenario(t, seed, memstate.New(), &recorder{})
		})
	}
}

func droppedWebhooksScenario(t *testing.T, seed uint64, st state.Store, b *recorder) {
	ctx := context.Background()
	w := newWorld(t, st, b)
	// An organization that exists before peerbridge: the first run takes it as the baseline.
	for i := range 5 {
		w.srv.AddPeer(peerdomapi.Peer{FirstName: "Seed", LastName: fmt.Sprint(i)})
		w.srv.AddRole(peerdomapi.Role{Name: fmt.Sprint("seed role ", i), ParentID: w.root})
	}
	rep, err := w.reconciler().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Baseline || rep.Published != 0 || len(b.events(t)) != 0 {
		t.Fatalf("first run: %+v; want a baseline publishing nothing", rep)
	}
	wr := &writer{t: t, w: w, rng: rand.New(rand.NewPCG(seed, 12)), holders: map[[2]string]bool{}, ledger: map[string]*ledger{}, kinds: map[string]peerdom.Entity{}}
	for _, p := range must(w.api.Peers().All(ctx, peerdomapi.Options{})) {
		wr.peers = append(wr.peers, p.ID)
		wr.entry(p.ID).known = true
	}
	for _, r := range must(w.api.Roles().All(ctx, peerdomapi.Options{})) {
		wr.roles = append(wr.roles, r.ID)
		wr.entry(r.ID).known = true
	}
	for wr.writes < 200 {
		wr.step(ctx)
	}
	webhookEvents := len(b.events(t))
	if webhookEvents != wr.writes-wr.dropped {
		t.Fatalf("%d webhook events on the bus, want %d writes - %d dropped", webhookEvents, wr.writes, wr.dropped)
	}

	rep, err = w.reconciler().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var reconciled []peerdom.Event
	for _, ev := range b.events(t)[webhookEvents:] {
		if ev.Detail.Origin != peerdom.OriginReconcile {
			t.Fatalf("a non-reconcile event after the writes: %+v", ev)
		}
		if ev.Detail.Organization != "acme" { // learned from the webhooks, as the API does not say it
			t.Fatalf("reconcile event of organization %q, want acme", ev.Detail.Organization)
		}
		reconciled = append(reconciled, ev)
	}
	got := map[string]string{}
	duplicates := 0
	for _, ev := range reconciled {
		if _, twice := got[ev.Detail.EntityID]; twice {
			duplicates++
		}
		got[ev.Detail.EntityID] = summary(ev.Detail)
	}
	want := wr.expected()
	missing, extra := 0, 0
	for id, s := range want {
		if got[id] != s {
			missing++
			t.Errorf("%s %s: reconciliation published %q, want %q", wr.kinds[id], id, got[id], s)
		}
	}
	for id, s := range got {
		if _, ok := want[id]; !ok {
			extra++
			t.Errorf("%s %s: reconciliation published %q, which a webhook reported or no write made", wr.kinds[id], id, s)
		}
	}
	t.Logf("writes %d, webhooks dropped %d, webhook events %d, reconcile events %d (expected %d), duplicates %d, missing %d, extra %d; listed %v",
		wr.writes, wr.dropped, webhookEvents, len(reconciled), len(want), duplicates, missing, extra, rep.Listed)
	if duplicates > 0 || rep.Published != len(reconciled) {
		t.Errorf("duplicates %d; report %+v", duplicates, rep)
	}

	// A second run finds nothing more.
	again, err := w.reconciler().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Differences != 0 || again.Published != 0 {
		t.Errorf("second run: %+v; want nothing", again)
	}
}

// TestConcurrentRunsPublishOnce: two runs at once, sharing the lease store, publish each
// difference once.
func TestConcurrentRunsPublishOnce(t *testing.T) {
	ctx := context.Background()
	for round := range 20 {
		b := &recorder{}
		w := newWorld(t, memstate.New(), b)
		leases := memstore.New(nil)
		if _, err := w.reconciler().Run(ctx); err != nil { // baseline
			t.Fatal(err)
		}
		w.srv.DropWebhooks(30)
		for i := range 30 {
			must(w.api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "P", LastName: fmt.Sprint(i)}))
		}
		var wg sync.WaitGroup
		reps := make([]reconcile.Report, 2)
		for i := range reps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := w.reconciler()
				r.Leases = leases
				var err error
				if reps[i], err = r.Run(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		ids := map[string]int{}
		for _, ev := range b.events(t) {
			ids[ev.Detail.ID]++
		}
		if len(ids) != 30 {
			t.Fatalf("round %d: %d distinct events, want 30 (reports %+v %+v)", round, len(ids), reps[0], reps[1])
		}
		for id, n := range ids {
			if n != 1 {
				t.Fatalf("round %d: event %s published %d times", round, id, n)
			}
		}
	}
}
