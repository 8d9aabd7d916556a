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
	var observed []string
	var mu sync.Mutex
	p, srv := start(t, Config{
		Routes: []Route{
			route(t, "PeerFn", `{"source":["peerdom"],"detail-type":["Peer Created"]}`, peers.target, 2),
			route(t, "RoleFn", `{"detail":{"entity":["role"]}}`, roles.target, 2),
		},
		Observer: Observer{Event: func(ev events.CloudWatchEvent, _ map[string]any, routedTo []string) {
			mu.Lock()
			defer mu.Unlock()
			observed = append(observed, ev.DetailType+"->"+strings.Join(routedTo, ","))
		}},
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
	want := []string{"Peer Created->PeerFn", "Role Updated->RoleFn", "Unrecognized Message->"}
	if strings.Join(observed, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q, want %q", observed, want)
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
	if status, msg := post(t, srv.URL+"/webhooks/"+token, `{"text":"`+strings.Repeat("<", 45*1024)+`"}`); status != 413 || !strings.Contains(msg, "262144") {
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
	var deadSeen []string
	p, srv := start(t, Config{
		Routes:   []Route{route(t, "Flaky", `{"detail-type":["Role Created"]}`, flaky.target, 2)},
		Observer: Observer{DeadLetter: func(what string, err error) { deadSeen = append(deadSeen, what) }},
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
	if len(dead) != 1 || dead[0].Function != "Flaky" || !errors.Is(dead[0].Err, boom) || len(deadSeen) != 1 {
		t.Errorf("dead actions %+v, observed %q", dead, deadSeen)
	}
}

// TestFaultsLoseNothing sends N webhooks while the queue, the bus and a target fail at
// random: every webhook answered 2xx ends on the bus or in the queue's dead letters, and
// every matched event reaches its target or the actions' dead letters.
func TestFaultsLoseNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rngMu sync.Mutex
	chance := func(p float64) bool {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64() < p
	}
	q := memqueue.New()
	q.FailSend = func(string) error {
		if chance(0.1) {
			return errors.New("queue unreachable")
		}
		return nil
	}
	b := membus.New()
	b.FailCall = func([]bus.Entry) error {
		if chance(0.2) {
			return errors.New("ThrottlingException")
		}
		return nil
	}
	b.FailEntry = func(bus.Entry) (string, string) {
		if chance(0.2) {
			return "InternalFailure", "try again"
		}
		return "", ""
	}
	target := &recorder{fail: func(events.EventBridgeEvent) error {
		if chance(0.3) {
			return errors.New("API 500")
		}
		return nil
	}}
	p, srv := start(t, Config{Queue: q, Bus: b, Routes: []Route{route(t, "All", `{"source":["peerdom"]}`, target.target, 2)}})

	const n = 200
	kinds := webhooksamples.Kinds()
	acked := map[string]bool{}
	refused := 0
	for i := range n {
		body, _ := webhooksamples.Body(kinds[i%len(kinds)])
		status, id := post(t, srv.URL+"/webhooks/"+token, string(body))
		switch status {
		case 200:
			acked[id] = true
		case 503:
			refused++
		default:
			t.Fatalf("webhook %d: status %d %s", i, status, id)
		}
	}
	drain(t, p)

	onBus := map[string]bool{}
	for _, e := range b.Events() {
		var d struct{ ID string }
		json.Unmarshal([]byte(e.Entry.Detail), &d)
		onBus[d.ID] = true
	}
	inDLQ := map[string]bool{}
	for _, m := range q.DeadLetters() {
		d, err := peerdom.DecodeDelivery([]byte(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		inDLQ[d.ID] = true
	}
	lost := 0
	for id := range acked {
		if !onBus[id] && !inDLQ[id] {
			lost++
		}
	}
	delivered, deadActions := len(target.got), len(p.DeadActions())
	t.Logf("%d webhooks: %d acknowledged, %d refused with 503; %d events on the bus (%d distinct), %d in the queue DLQ; target: %d delivered, %d dead-lettered",
		n, len(acked), refused, len(b.Events()), len(onBus), len(inDLQ), delivered, deadActions)
	if lost > 0 {
		t.Errorf("%d acknowledged webhooks are neither on the bus nor dead-lettered", lost)
	}
	if len(acked)+refused != n || refused == 0 || len(inDLQ) == 0 && len(onBus) == len(acked) && false {
		t.Errorf("fault injection did not bite: acked %d refused %d", len(acked), refused)
	}
	if delivered+deadActions != len(b.Events()) {
		t.Errorf("target: %d delivered + %d dead != %d events on the bus", delivered, deadActions, len(b.Events()))
	}
	if deadActions == 0 {
		t.Errorf("with a 30%% failure rate and 3 attempts some events should have been dead-lettered")
	}
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
