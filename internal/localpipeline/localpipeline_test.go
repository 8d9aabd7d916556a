package localpipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

const token = "s3cret-token-for-tests"

func tokens(t *testing.T) *ingest.Tokens {
	tk, err := ingest.NewTokens([]string{token})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// recorder is a target that records what it was given and fails while fail says so.
type recorder struct {
	mu     sync.Mutex
	got    []events.EventBridgeEvent
	fail   func(ev events.EventBridgeEvent) error
	called atomic.Int32
}

func (r *recorder) target(_ context.Context, ev events.EventBridgeEvent) error {
	r.called.Add(1)
	if r.fail != nil {
		if err := r.fail(ev); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
	return nil
}

func route(t *testing.T, fn, pattern string, tgt Target, retries int) Route {
	p, err := eventpattern.Compile([]byte(pattern))
	if err != nil {
		t.Fatal(err)
	}
	return Route{Function: fn, Rule: fn + "Rule", Pattern: p, Target: tgt, MaxRetries: retries}
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.ID + out.Error
}

func start(t *testing.T, cfg Config) (*Pipeline, *httptest.Server) {
	t.Helper()
	cfg.Tokens = tokens(t)
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = func(int) time.Duration { return time.Millisecond }
	}
	p := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx, 2)
	srv := httptest.NewServer(p.WebhookHandler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		p.Close()
	})
	return p, srv
}

func drain(t *testing.T, p *Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookToRoutedTarget(t *testing.T) {
	peers, roles := &recorder{}, &recorder{}
	obs := observe.New(observe.Options{})
	p, srv := start(t, Config{
		Observe: obs,
		Routes: []Route{
			route(t, "PeerFn", `{"source":["peerdom"],"detail-type":["Peer Created"]}`, peers.target, 2),
			route(t, "RoleFn", `{"detail":{"entity":["role"]}}`, roles.target, 2),
		},
	})
	ids := map[string]string{}
	for _, kind := range []string{"peer-created", "role-updated", "test"} {
		body, _ := webhooksamples.Body(kind)
		status, id := post(t, srv.URL+"/webhooks/"+token, string(body))
		if status != 200 || id == "" {
			t.Fatalf("%s: status %d %q", kind, status, id)
		}
		ids[kind] = id
	}
	drain(t, p)
	if len(peers.got) != 1 || peers.got[0].DetailType != "Peer Created" {
		t.Fatalf("peer target got %+v", peers.got)
	}
	d, err := peerdom.DecodeDetail(peers.got[0].Detail)
	if err != nil || d.ID != ids["peer-created"] || d.Name != "Ada Lovelace" {
		t.Errorf("delivered detail %+v, %v", d, err)
	}
	if len(roles.got) != 1 || roles.got[0].DetailType != "Role Updated" {
		t.Errorf("role target got %+v", roles.got)
	}
	var observed []string
	for _, r := range obs.Records() {
		if r.Published != nil {
			observed = append(observed, r.Published.DetailType+"->"+strings.Join(r.Published.RoutedTo, ","))
		}
	}
	want := []string{"Peer Created->PeerFn", "Role Updated->RoleFn", "Unrecognized Message->"}
	if strings.Join(observed, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q, want %q", observed, want)
	}
}

// TestLessThanRunIsDelivered: a 45 KB run of '<' inside a field passes ingest's size
// check, and the worker puts its event on the bus: the target gets the field whole.
func TestLessThanRunIsDelivered(t *testing.T) {
	roles := &recorder{}
	p, srv := start(t, Config{Routes: []Route{route(t, "RoleFn", `{"detail-type":["Role Created"]}`, roles.target, 0)}})
	run := strings.Repeat("<", 45*1024)
	status, id := post(t, srv.URL+"/webhooks/"+token, string(webhooksamples.BodyOf(webhooksamples.LessThanRun(45*1024))))
	if status != 200 {
		t.Fatalf("status %d %s", status, id)
	}
	drain(t, p)
	if len(roles.got) != 1 {
		t.Fatalf("delivered %d events, want 1", len(roles.got))
	}
	d, err := peerdom.DecodeDetail(roles.got[0].Detail)
	if err != nil || d.ID != id || d.Fields.Get("Purpose") != run {
		t.Errorf("delivered detail id %q (want %q), Purpose of %d bytes, %v", d.ID, id, len(d.Fields.Get("Purpose")), err)
	}
	if n := len(roles.got[0].Detail); n < 2*len(run) || n > 2*len(run)+2048 {
		t.Errorf("detail takes %d bytes, want the run twice unescaped (%d) and little else", n, 2*len(run))
	}
}

func TestEndpointAnswers(t *testing.T) {
	_, srv := start(t, Config{})
	if status, msg := post(t, srv.URL+"/webhooks/wrong", `{"text":"x"}`); status != 401 {
		t.Errorf("wrong token: %d %s", status, msg)
	}
	if status, msg := post(t, srv.URL+"/webhooks/"+token, `{"text":5}`); status != 400 || !strings.Contains(msg, "string") {
		t.Errorf("bad body: %d %s", status, msg)
	}
	if status, _ := post(t, srv.URL+"/webhooks/"+token, `{"text":"`+strings.Repeat("a", 101*1024)+`"}`); status != 413 {
		t.Errorf("big body: %d", status)
	}
	if status, msg := post(t, srv.URL+"/webhooks/"+token, string(webhooksamples.EventTooLargeForBus())); status != 413 || !strings.Contains(msg, "262144") {
		t.Errorf("event too large for the bus: %d %s", status, msg)
	}
	if status, _ := post(t, srv.URL+"/elsewhere", `{}`); status != 404 {
		t.Errorf("other path: %d", status)
	}
	resp, err := http.Get(srv.URL + "/webhooks/" + token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestFailingTargetIsRetriedThenDeadLettered(t *testing.T) {
	boom := errors.New("peerdom answered 500")
	flaky := &recorder{fail: func(events.EventBridgeEvent) error { return boom }}
	obs := observe.New(observe.Options{})
	p, srv := start(t, Config{
		Routes:  []Route{route(t, "Flaky", `{"detail-type":["Role Created"]}`, flaky.target, 2)},
		Observe: obs,
	})
	body, _ := webhooksamples.Body("role-created")
	if status, _ := post(t, srv.URL+"/webhooks/"+token, string(body)); status != 200 {
		t.Fatal(status)
	}
	drain(t, p)
	if got := flaky.called.Load(); got != 3 {
		t.Errorf("target called %d times, want 1 + 2 retries", got)
	}
	dead := p.DeadActions()
	c := obs.Counts()
	if len(dead) != 1 || dead[0].Function != "Flaky" || !errors.Is(dead[0].Err, boom) || c.EventsDeadLettered != 1 || c.Retries != 2 || c.ActionsFailed != 3 {
		t.Errorf("dead actions %+v, counted %+v", dead, c)
	}
}

// faultBody is one webhook of the fault tests' mix and what ingest must answer it.
type faultBody struct {
	kind string // "sample", "oversized", "too large for the bus", "adversarial", "poison"
	body string
}

// faultMix is the fault tests' traffic: every sample kind, bodies over 100 KiB and bodies
// whose event would pass EventBridge's entry limit (both 413), adversarial texts of
// nearly 100 KiB the parser must take in linear time, and "poison" webhooks the bus
// always refuses (they must end in the queue's dead letters).
func faultMix(n int) []faultBody {
	const nearLimit = peerdom.MaxBodyBytes - 64
	adversarial := []string{
		strings.Repeat("[", nearLimit),
		strings.Repeat("**[", nearLimit/3),
		strings.Repeat("[x](", nearLimit/4),
		strings.Repeat("(((", nearLimit/3),
		strings.Repeat(`a\n`, nearLimit/3), // ~33,000 short lines, as the body escapes them
	}
	kinds := webhooksamples.Kinds()
	var mix []faultBody
	for i := range n {
		var fb faultBody
		switch {
		case i%25 == 3:
			fb = faultBody{"oversized", `{"text":"` + strings.Repeat("a", peerdom.MaxBodyBytes) + `"}`}
		case i%25 == 8:
			fb = faultBody{"too large for the bus", string(webhooksamples.EventTooLargeForBus())}
		case i%25 == 13:
			fb = faultBody{"adversarial", `{"text":"` + adversarial[(i/25)%len(adversarial)] + `"}`}
		case i%25 == 18:
			fb = faultBody{"poison", fmt.Sprintf(`{"text":"poison webhook %d"}`, i)}
		default:
			b, _ := webhooksamples.Body(kinds[i%len(kinds)])
			fb = faultBody{"sample", string(b)}
		}
		mix = append(mix, fb)
	}
	return mix
}

// TestFaultsLoseNothing sends webhooks from 8 concurrent clients while the queue, the bus
// and a target fail at random, with oversized, adversarial and poison bodies in the mix,
// in 3 rounds. It checks that every fault kind fired, and counts separately: each
// webhook ingest accepted is delivered (on the bus once), dead-lettered (in the queue's
// DLQ), duplicated (on the bus more than once) or lost (neither); each matched event is
// delivered to its target or dead-lettered there. Nothing here may duplicate: no fault
// loses an acknowledgement (a message published is always deleted, a target's success
// always recorded), so at-least-once delivery has no cause to repeat.
func TestFaultsLoseNothing(t *testing.T) {
	for round := range 3 {
		faultsLoseNothing(t, uint64(round))
	}
}

func faultsLoseNothing(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	var rngMu sync.Mutex
	chance := func(p float64) bool {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64() < p
	}
	var sendFaults, callFaults, entryFaults, poisonRefusals, targetFaults atomic.Int64
	q := memqueue.New()
	// Each fault kind fails its first chance, then at random: every kind fires on every
	// run, whatever the random draws (the bus gets few calls when the worker batches).
	var sends, calls, entries atomic.Int64
	q.FailSend = func(string) error {
		if sends.Add(1) == 1 || chance(0.1) {
			sendFaults.Add(1)
			return errors.New("queue unreachable")
		}
		return nil
	}
	b := membus.New()
	var parsedMu sync.Mutex
	parsed := map[string]bool{} // delivery ids the worker parsed and put to the bus, failed or not
	b.FailCall = func(entries []bus.Entry) error {
		parsedMu.Lock()
		for _, e := range entries {
			var d struct{ ID string }
			json.Unmarshal([]byte(e.Detail), &d)
			parsed[d.ID] = true
		}
		parsedMu.Unlock()
		if calls.Add(1) == 1 || chance(0.2) {
			callFaults.Add(1)
			return errors.New("ThrottlingException")
		}
		return nil
	}
	b.FailEntry = func(e bus.Entry) (string, string) {
		if strings.Contains(e.Detail, "poison webhook") {
			poisonRefusals.Add(1)
			return "InternalFailure", "this entry never goes through"
		}
		if entries.Add(1) == 1 || chance(0.2) {
			entryFaults.Add(1)
			return "InternalFailure", "try again"
		}
		return "", ""
	}
	// The target refuses every attempt of the first event it is given (so one event is
	// dead-lettered whatever the random draws) and 30% of all other attempts.
	var doomedMu sync.Mutex
	doomed := ""
	target := &recorder{fail: func(ev events.EventBridgeEvent) error {
		doomedMu.Lock()
		if doomed == "" {
			doomed = ev.ID
		}
		isDoomed := ev.ID == doomed
		doomedMu.Unlock()
		if isDoomed || chance(0.3) {
			targetFaults.Add(1)
			return errors.New("API 500")
		}
		return nil
	}}
	p, srv := start(t, Config{Queue: q, Bus: b, Routes: []Route{route(t, "All", `{"source":["peerdom"]}`, target.target, 2)}})

	mix := faultMix(200)
	type answer struct {
		kind   string
		status int
		id     string
	}
	answers := make([]answer, len(mix))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(mix) {
					return
				}
				status, id := post(t, srv.URL+"/webhooks/"+token, mix[i].body)
				answers[i] = answer{mix[i].kind, status, id}
			}
		})
	}
	wg.Wait()
	drain(t, p)

	acked := map[string]string{} // delivery id → kind
	statuses := map[string]int{} // "kind status" → count
	for i, a := range answers {
		statuses[fmt.Sprintf("%s %d", a.kind, a.status)]++
		switch {
		case a.status == 200:
			acked[a.id] = a.kind
		case a.status == 503:
		case a.status == 413 && (a.kind == "oversized" || a.kind == "too large for the bus"):
		default:
			t.Errorf("webhook %d (%s): status %d %s", i, a.kind, a.status, a.id)
		}
	}
	onBus := map[string]int{}
	for _, e := range b.Events() {
		var d struct{ ID string }
		json.Unmarshal([]byte(e.Entry.Detail), &d)
		onBus[d.ID]++
	}
	inDLQ := map[string]int{}
	for _, m := range q.DeadLetters() {
		d, err := peerdom.DecodeDelivery([]byte(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		inDLQ[d.ID]++
	}
	var delivered, deadLettered, duplicated, lost, poisonDead, adversarialDelivered, adversarialParsed int
	for id, kind := range acked {
		if kind == "adversarial" && parsed[id] {
			adversarialParsed++
		}
		switch bus, dlq := onBus[id], inDLQ[id]; {
		case bus+dlq > 1:
			duplicated++
		case bus == 1:
			delivered++
			if kind == "adversarial" {
				adversarialDelivered++
			}
		case dlq == 1:
			deadLettered++
			if kind == "poison" {
				poisonDead++
			}
		default:
			lost++
		}
	}
	unacked := 0 // on the bus or dead-lettered, but answered other than 200
	for id := range onBus {
		if _, ok := acked[id]; !ok {
			unacked++
		}
	}
	for id := range inDLQ {
		if _, ok := acked[id]; !ok {
			unacked++
		}
	}
	targetIDs := map[string]int{}
	for _, ev := range target.got {
		targetIDs[ev.ID]++
	}
	targetDelivered, targetDead := len(target.got), len(p.DeadActions())
	targetDuplicated := targetDelivered - len(targetIDs)
	t.Logf("seed %d: %d webhooks %v; accepted %d: delivered %d (adversarial %d), dead-lettered %d (poison %d), duplicated %d, lost %d; not accepted yet published %d",
		seed, len(mix), statuses, len(acked), delivered, adversarialDelivered, deadLettered, poisonDead, duplicated, lost, unacked)
	t.Logf("seed %d: target: %d events on the bus, delivered %d, dead-lettered %d, duplicated %d, lost %d; faults fired: queue sends %d, bus calls %d, bus entries %d (+ poison %d), target %d",
		seed, len(b.Events()), targetDelivered, targetDead, targetDuplicated, len(b.Events())-targetDelivered-targetDead,
		sendFaults.Load(), callFaults.Load(), entryFaults.Load(), poisonRefusals.Load(), targetFaults.Load())

	if sendFaults.Load() == 0 || callFaults.Load() == 0 || entryFaults.Load() == 0 || poisonRefusals.Load() == 0 || targetFaults.Load() == 0 {
		t.Errorf("a fault kind never fired: queue sends %d, bus calls %d, bus entries %d, poison %d, target %d",
			sendFaults.Load(), callFaults.Load(), entryFaults.Load(), poisonRefusals.Load(), targetFaults.Load())
	}
	var refused503, poisonAcked, adversarialAcked int
	for _, a := range answers {
		refused503 += b2i(a.status == 503)
		poisonAcked += b2i(a.status == 200 && a.kind == "poison")
		adversarialAcked += b2i(a.status == 200 && a.kind == "adversarial")
	}
	if int64(refused503) != sendFaults.Load() {
		t.Errorf("%d answers 503, %d queue faults: each refused send is one 503", refused503, sendFaults.Load())
	}
	if statuses["oversized 413"] != 8 || statuses["too large for the bus 413"] != 8 {
		t.Errorf("413s: %v, want the 8 oversized and the 8 too large for the bus", statuses)
	}
	if lost != 0 || duplicated != 0 || unacked != 0 {
		t.Errorf("lost %d, duplicated %d, published without a 200 %d: want 0 each", lost, duplicated, unacked)
	}
	if poisonDead != poisonAcked || poisonAcked == 0 {
		t.Errorf("%d poison webhooks accepted, %d dead-lettered: want all, and some", poisonAcked, poisonDead)
	}
	// Parsed within the worker's deadline, each reached PutEvents (bus faults may still
	// dead-letter one: it is counted there).
	if adversarialParsed != adversarialAcked || adversarialAcked == 0 || adversarialDelivered == 0 {
		t.Errorf("%d adversarial webhooks accepted, %d parsed, %d delivered: want all parsed, some delivered", adversarialAcked, adversarialParsed, adversarialDelivered)
	}
	if targetDelivered+targetDead != len(b.Events()) || targetDuplicated != 0 {
		t.Errorf("target: %d delivered + %d dead != %d events on the bus, or %d duplicated", targetDelivered, targetDead, len(b.Events()), targetDuplicated)
	}
	doomedDead := false
	for _, d := range p.DeadActions() {
		doomedDead = doomedDead || d.Event.ID == doomed
	}
	if doomed == "" || !doomedDead {
		t.Errorf("the event the target refuses every time (%q) was not dead-lettered: %d dead", doomed, targetDead)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRoutesFromTemplate(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Parameters:
  EventSource: {Type: String, Default: peerdom}
Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/a
      Events:
        OnPeer:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [!Ref EventSource], detail-type: [Peer Created]}
  BFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/b
      Events:
        OnAny:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [!Ref EventSource]}
  Ingest:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/ingest
`), map[string]string{"EventSource": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	a := &recorder{}
	routes, skipped, err := RoutesFromTemplate(tpl, func(fn samtemplate.Function) (Target, error) {
		if fn.LogicalID == "AFunction" {
			return a.target, nil
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 || routes[0].Function != "AFunction" || routes[0].Rule != "OnPeer" || routes[0].MaxRetries != 2 {
		t.Fatalf("routes %+v", routes)
	}
	if fmt.Sprint(skipped) != "[BFunction]" {
		t.Errorf("skipped %v", skipped)
	}
	ev, _ := eventpattern.DecodeEvent([]byte(`{"source":"acme","detail-type":"Peer Created","detail":{}}`))
	if !routes[0].Pattern.MatchEvent(ev) {
		t.Error("the pattern did not take the parameter's value")
	}
	if _, _, err := RoutesFromTemplate(tpl, func(samtemplate.Function) (Target, error) { return nil, errors.New("no key") }); err == nil {
		t.Error("a target error was swallowed")
	}
}

func TestReadsDetail(t *testing.T) {
	for pattern, want := range map[string]bool{
		`{"source":["peerdom"],"detail-type":["Peer Created"]}`:           false,
		`{"detail":{"entity":["role"]}}`:                                  true,
		`{"$or":[{"detail-type":["Peer Created"]},{"detail":{"a":[1]}}]}`: true,
	} {
		p, err := eventpattern.Compile([]byte(pattern))
		if err != nil {
			t.Fatal(err)
		}
		if got := readsDetail(p); got != want {
			t.Errorf("readsDetail(%s) = %v, want %v", pattern, got, want)
		}
	}
}

// Without a rule reading the detail, routing does not decode it: a job's entity is read
// from the detail's JSON alone.
func TestRoutingWithoutDetailPatterns(t *testing.T) {
	raw := json.RawMessage(`{"entityId":"e-1","entity":"peer"}`)
	if got, want := entityKey("Fn", raw, nil), "Fn\x00e-1"; got != want {
		t.Errorf("entityKey from the raw detail = %q, want %q", got, want)
	}
	if got := entityKey("Fn", raw, map[string]any{"entityId": "e-2"}); got != "Fn\x00e-2" {
		t.Errorf("entityKey from the decoded detail = %q", got)
	}
	ev, err := decodedEvent(events.CloudWatchEvent{DetailType: "Peer Created", Detail: raw}, false)
	if err != nil || ev["detail-type"] != "Peer Created" || ev["detail"] != nil {
		t.Errorf("decodedEvent without the detail = %v, %v", ev, err)
	}
}
