package eventbridgebus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/bustest"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// routedBus makes a bus on moto with a rule sending source `source` to a new queue,
// and returns the queue's URL.
func routedBus(t *testing.T, name, source string) (*eventbridge.Client, string) {
	t.Helper()
	url := mototest.RouteToQueue(t, name, fmt.Sprintf(`{"source":[%q]}`, source))
	return eventbridge.NewFromConfig(mototest.Config(t)), url
}

type routedEvent struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

func receive(t *testing.T, url string, want int) []routedEvent {
	t.Helper()
	var got []routedEvent
	for _, m := range mototest.Receive(t, url, want, 10*time.Second) {
		var ev routedEvent
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
			t.Fatalf("routed message is not an event: %v", err)
		}
		got = append(got, ev)
	}
	return got
}

var buses atomic.Int64 // numbers the buses each test creates in the one moto server

// TestConformance runs the suite against moto: each rule sends what it matches to an
// SQS queue, read back as a target would get it.
func TestConformance(t *testing.T) {
	bustest.Run(t, newBus, bustest.Features{
		// moto 5.2.1's deviations from EventBridge; the suite asserts each.
		RefusesOversizedCall:   false,
		RefusesNonObjectDetail: false,
		MatchesObjectsInArrays: false,
	})
}

// newBus makes a bus of its own in the one moto server.
func newBus(t *testing.T) bustest.Instance {
	t.Helper()
	ctx := context.Background()
	cfg := mototest.Config(t)
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	name := fmt.Sprintf("bustest-%d", buses.Add(1))
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	rules := 0
	return bustest.Instance{Putter: New(eb, name), Route: func(t testing.TB, pattern string) func(int) []bustest.Routed {
		rules++
		url := mototest.RuleToQueue(t, name, fmt.Sprintf("rule-%d", rules), pattern)
		var routed []bustest.Routed
		// Receive until want have come and a receive finds no more.
		return func(want int) []bustest.Routed {
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range out.Messages {
					var r bustest.Routed
					if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &r); err != nil {
						t.Fatalf("routed message is not an event: %v", err)
					}
					routed = append(routed, r)
				}
				if len(out.Messages) == 0 && len(routed) >= want {
					break
				}
				if len(out.Messages) == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			return append([]bustest.Routed(nil), routed...)
		}
	}}
}

func TestPutEventsOverTheWire(t *testing.T) {
	name := fmt.Sprintf("wire-bus-%d", buses.Add(1)) // moto lives as long as the test binary: -count reruns
	eb, url := routedBus(t, name, "peerdom-wire")
	b := New(eb, name)
	entries := []bus.Entry{
		{Source: "peerdom-wire", DetailType: "Role Created", Detail: `{"id":"d-1","name":"Ops"}`, Time: time.Now()},
		{Source: "peerdom-wire", DetailType: "", Detail: `{"id":"d-2"}`}, // moto, like EventBridge, rejects this entry alone
		{Source: "peerdom-wire", DetailType: "Peer Deleted", Detail: `{"id":"d-3"}`, Resources: []string{"urn:peer:1"}},
	}
	results, err := b.PutEvents(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("%d results", len(results))
	}
	if results[0].Err() != nil || results[0].EventID == "" || results[2].Err() != nil || results[2].EventID == "" {
		t.Errorf("accepted entries: %+v", results)
	}
	var ee *bus.EntryError
	if !errors.As(results[1].Err(), &ee) || ee.Code != "InvalidArgument" {
		t.Errorf("entry without detail-type: %+v", results[1])
	}

	got := receive(t, url, 2)
	if len(got) != 2 {
		t.Fatalf("routed %d events, want 2", len(got))
	}
	byID := map[string]routedEvent{}
	for _, ev := range got {
		byID[ev.ID] = ev
	}
	first, ok := byID[results[0].EventID]
	if !ok || first.DetailType != "Role Created" || first.Source != "peerdom-wire" {
		t.Errorf("first event not routed as sent: %+v", got)
	}
	var detail map[string]string
	if err := json.Unmarshal(first.Detail, &detail); err != nil || detail["name"] != "Ops" {
		t.Errorf("detail = %s", first.Detail)
	}
}

func TestPutEventsCallErrorNamesBus(t *testing.T) {
	cfg := mototest.Config(t)
	b := New(eventbridge.NewFromConfig(cfg), "wire-bus")
	// More than 10 entries: EventBridge (and moto) refuse the whole call.
	entries := make([]bus.Entry, 11)
	for i := range entries {
		entries[i] = bus.Entry{Source: "s", DetailType: "t", Detail: `{}`}
	}
	_, err := b.PutEvents(context.Background(), entries)
	if err == nil {
		t.Fatal("an 11-entry call succeeded")
	}
	if !strings.Contains(err.Error(), `"wire-bus"`) {
		t.Errorf("the error does not name the bus: %v", err)
	}
}

type fakeClient struct {
	out *eventbridge.PutEventsOutput
	in  *eventbridge.PutEventsInput
}

func (f *fakeClient) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.in = in
	return f.out, nil
}

func TestPutEventsMismatchedAnswer(t *testing.T) {
	f := &fakeClient{out: &eventbridge.PutEventsOutput{Entries: []ebtypes.PutEventsResultEntry{{EventId: aws.String("e")}}}}
	_, err := New(f, "b").PutEvents(context.Background(), []bus.Entry{{Source: "s"}, {Source: "s"}})
	if err == nil {
		t.Fatal("a short answer was accepted")
	}
}

func TestPutEventsEntryWithoutIDIsAFailure(t *testing.T) {
	f := &fakeClient{out: &eventbridge.PutEventsOutput{Entries: []ebtypes.PutEventsResultEntry{{}}}}
	res, err := New(f, "").PutEvents(context.Background(), []bus.Entry{{Source: "s", DetailType: "t", Detail: "{}"}})
	if err != nil || res[0].Err() == nil {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
	if f.in.Entries[0].EventBusName != nil || f.in.Entries[0].Time != nil {
		t.Errorf("default bus and zero time must be left unset: %+v", f.in.Entries[0])
	}
}
