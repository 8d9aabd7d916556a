package eventpattern_test

// The differential test: every pattern below becomes a rule (with an SQS queue as its
// target) on a custom bus in moto, every event is put once, and the events that reach
// each queue must be exactly those this package matches — all pairs of the cross product.
// moto's TestEventPattern call is not used: in moto 5.2.1 it disagreed with its own rule
// routing.
//
// moto is a double, not AWS, and differs from EventBridge in places. Those cases are
// kept out of these tables (a cross product touches every field with every pattern, so
// the events avoid them too): no boolean where a pattern compares numbers and no 0 or 1
// where it compares booleans, no pattern object
// applied to an array of objects, no nested or empty arrays under a pattern, no pattern
// on "time" (moto sets it to a number). Each deviation is listed in motoDeviations with
// EventBridge's answer, tested in TestMotoDeviations against both, and in
// eventpattern_test.go's tables.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

func TestMain(m *testing.M) { mototest.Main(m) }

type diffEvent struct {
	name       string
	source     string
	detailType string
	resources  []string
	detail     string // a JSON object
}

var diffEvents = []diffEvent{
	// Shaped like peerbridge's events (docs/contract.md).
	{"role-created", "peerdom", "Role Created", nil, `{"id":"d-1","receivedAt":"2026-03-02T10:00:00Z","entity":"role","action":"created","name":"Facilitator",
		"url":"https://app.peerdom.org/acme/map/3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11/role/9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66","organization":"acme",
		"entityId":"9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66","author":{"name":"Jane Doe","email":"jane@example.com"},
		"fields":{"Name":"Facilitator","Map":"Main map"},"changes":[],"changedFields":[],"text":"**[Role](https://app.peerdom.org/acme/...)** was created"}`},
	{"role-updated", "peerdom", "Role Updated", nil, `{"id":"d-2","entity":"role","action":"updated","name":"Senior Engineer",
		"url":"https://app.peerdom.org/acme/roles/eng","organization":"acme","author":{"name":"Jane Doe","email":"Jane@Example.com"},
		"fields":{},"changes":[{"field":"Name","old":"Engineer","new":"Senior Engineer"}],"changedFields":["Name"],"text":"..."}`},
	{"peer-updated-by-bot", "peerdom", "Peer Updated", nil, `{"id":"d-3","entity":"peer","action":"updated",
		"url":"https://app.peerdom.org/acme/peers/bob","organization":"acme","author":{"name":"Peerbridge","email":"bot@acme.example"},
		"fields":{},"changes":[{"field":"Nickname","old":"Bob","new":"Bobby"},{"field":"Languages","added":["French"],"removed":[]}],
		"changedFields":["Nickname","Location","Languages"],"text":"..."}`},
	{"group-deleted-by-system", "peerdom", "Group Deleted", nil, `{"id":"d-4","entity":"group","action":"deleted","name":"Marketing",
		"url":"https://app.peerdom.org/acme/circles/marketing","organization":"acme","fields":{"Name":"Marketing","Map":"Main map"},
		"changes":[],"changedFields":[],"text":"..."}`},
	{"peer-created-author-without-name", "peerdom", "Peer Created", nil, `{"id":"d-5","entity":"peer","action":"created","name":"Ada Lovelace",
		"url":"https://app.peerdom.org/acme/peers/ada","organization":"acme","author":{"email":"ops@acme.example"},
		"fields":{"Name":"Ada Lovelace"},"changes":[],"changedFields":[],"text":"..."}`},
	{"unrecognized-test-message", "peerdom", "Unrecognized Message", nil, `{"id":"d-6","fields":{},"changes":[],"changedFields":[],
		"text":"Hello from Peerdom! If you can read this, your webhook endpoint works."}`},
	{"circle-created-other-org", "peerdom", "Group Created", nil, `{"id":"d-7","entity":"group","action":"created","name":"Research",
		"url":"https://app.peerdom.org/other-org/circles/research","organization":"other-org","author":{"name":"Jane Doe","email":"jane@example.com"},
		"fields":{"Name":"Research"},"changes":[],"changedFields":[],"text":"..."}`},
	{"lower-case-detail-type", "peerdom", "role created", nil, `{"entity":"ROLE","tags":["initializing"],"text":"..."}`},

	// Generic events, after the EventBridge user guide's examples.
	{"ec2-initializing", "aws.ec2", "EC2 Instance State-change Notification",
		[]string{"arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"},
		`{"instance-id":"i-1234567890abcdef0","state":"initializing","c-count":5,"d-count":3,"x-limit":301.8,
		"source-ip":"10.0.0.33","FileName":"photo.PNG","FilePath":"/usr/lib/x.so"}`},
	{"ec2-running", "aws.ec2", "EC2 Instance State-change Notification",
		[]string{"arn:aws:ec2:us-west-1:123456789012:instance/i-0fedcba0987654321", "arn:aws:s3:::bucket"},
		`{"instance-id":"i-0fedcba0987654321","state":"running","c-count":0,"d-count":12,"x-limit":100,
		"source-ip":"10.0.1.7","FileName":"a.png","FilePath":"/home/u/x"}`},
	{"s3-stopped", "aws.s3", "Object Created", []string{"arn:aws:s3:::bucket/x.png"},
		`{"FileName":"x.png","state":"stopped","c-count":7}`},
	{"types-strings", "test.types", "Types", nil,
		`{"n":"5","flag":"true","nothing":null,"empty":"","obj":{"c1":100},"tags":["initializing","running"]}`},
	{"types-values", "test.types", "Types", nil,
		`{"n":5,"flag":true,"empty":"x","tags":["stopped"],"star":"a*b","ip6":"2001:db8::1"}`},
}

var diffPatterns = []struct{ name, pattern string }{
	{"source-and-detail-type", `{"source":["peerdom"],"detail-type":["Role Created"]}`},
	{"detail-type-list", `{"detail-type":["Role Created","Role Updated","Role Deleted"]}`},
	{"detail-type-prefix", `{"detail-type":[{"prefix":"Role "}]}`},
	{"detail-type-equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"role created"}]}`},
	{"detail-type-suffix", `{"detail-type":[{"suffix":"Deleted"}]}`},
	{"detail-type-wildcard", `{"detail-type":[{"wildcard":"* Created"}]}`},
	{"entity-and-action", `{"detail":{"entity":["role"],"action":["updated"]}}`},
	{"changed-fields-any", `{"detail":{"changedFields":["Location","Name"]}}`},
	{"ignore-own-author", `{"detail":{"author":{"email":[{"anything-but":["bot@acme.example"]}]}}}`},
	{"author-email-exists", `{"detail":{"author":{"email":[{"exists":true}]}}}`},
	{"system-change", `{"source":["peerdom"],"detail":{"author":[{"exists":false}]}}`},
	{"author-without-name", `{"detail":{"author":{"name":[{"exists":false}]},"entity":[{"exists":true}]}}`},
	{"other-organization", `{"detail":{"organization":[{"anything-but":"acme"}]}}`},
	{"circle-url-wildcard", `{"detail":{"url":[{"wildcard":"https://app.peerdom.org/*/circles/*"}]}}`},
	{"author-domain-ignore-case", `{"detail":{"author":{"email":[{"suffix":{"equals-ignore-case":"@EXAMPLE.COM"}}]}}}`},
	{"text-prefix", `{"detail":{"text":[{"prefix":"Hello"}]}}`},
	{"unrecognized-by-missing-entity", `{"detail":{"entity":[{"exists":false}]},"detail-type":[{"anything-but":"Unrecognized Message"}]}`},
	{"entity-missing-or-group", `{"detail":{"entity":[{"exists":false},"group"]}}`},
	{"exists-false-under-missing-parent", `{"source":["peerdom"],"detail":{"nope":{"deeper":[{"exists":false}]}}}`},
	{"or-top-level", `{"source":["peerdom"],"$or":[{"detail-type":["Peer Created","Peer Updated"]},{"detail":{"organization":["other-org"]}}]}`},
	{"or-in-detail", `{"detail":{"$or":[{"changedFields":["Nickname"]},{"author":{"email":[{"prefix":"ops@"}]}}]}}`},
	{"or-nested", `{"$or":[{"source":["aws.s3"]},{"detail":{"$or":[{"entity":["group"]},{"name":[{"wildcard":"Senior *"}]}]}}]}`},
	{"source-prefix-ignore-case", `{"source":[{"prefix":{"equals-ignore-case":"AWS."}}]}`},
	{"source-not-aws", `{"source":[{"anything-but":{"prefix":"aws."}}]}`},
	{"resources-prefix", `{"resources":[{"prefix":"arn:aws:ec2:"}]}`},
	{"resources-exact", `{"resources":["arn:aws:s3:::bucket"]}`},
	{"state-anything-but-list", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`},
	{"state-anything-but-ignore-case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":"INITIALIZING"}}]}}`},
	{"state-anything-but", `{"detail":{"state":[{"anything-but":"initializing"}]}}`},
	{"path-anything-but-wildcard", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`},
	{"file-anything-but-suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".png"}}]}}`},
	{"file-suffix-ignore-case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`},
	{"numeric-range", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`},
	{"numeric-equals", `{"detail":{"x-limit":[{"numeric":["=",3.018e2]}]}}`},
	{"numeric-and-anything-but-numbers", `{"detail":{"d-count":[{"numeric":["<",10]}],"x-limit":[{"anything-but":[100,200,300]}]}}`},
	{"numeric-at-least", `{"detail":{"c-count":[{"numeric":[">=",5]}]}}`},
	{"cidr", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`},
	{"cidr-ipv6", `{"detail":{"ip6":[{"cidr":"2001:db8::/32"}]}}`},
	{"string-5", `{"detail":{"n":["5"]}}`},
	{"number-5", `{"detail":{"n":[5]}}`},
	{"anything-but-number-5", `{"detail":{"n":[{"anything-but":5}]}}`},
	{"boolean-true", `{"detail":{"flag":[true]}}`},
	{"string-true", `{"detail":{"flag":["true"]}}`},
	{"null", `{"detail":{"nothing":[null]}}`},
	{"null-exists", `{"detail":{"nothing":[{"exists":true}]}}`},
	{"empty-string", `{"detail":{"empty":[""]}}`},
	{"object-is-not-a-leaf", `{"source":["test.types"],"detail":{"obj":[{"exists":false}]}}`},
	{"array-element", `{"detail":{"tags":["running"]}}`},
	{"array-anything-but", `{"detail":{"tags":[{"anything-but":"initializing"}]}}`},
	{"wildcard-escaped-star", `{"detail":{"star":[{"wildcard":"a\\*b"}]}}`},
	{"wildcard-escaped-star-then-star", `{"detail":{"star":[{"wildcard":"a\\**"}]}}`},
}

// Patterns both moto and this package refuse.
var diffInvalidPatterns = []string{
	`{"source":[]}`,
	`{"source":"peerdom"}`,
	`{"detail":{"entity":[]}}`,
	`{"detail":{"n":5}}`,
}

func TestDifferentialAgainstMoto(t *testing.T) {
	t.Parallel() // a bus, rules and queues of its own
	b := newMotoBus(t)
	queues := make([]string, len(diffPatterns))
	for i, p := range diffPatterns {
		if _, err := eventpattern.Compile([]byte(p.pattern)); err != nil {
			t.Fatalf("pattern %s does not compile: %v", p.name, err)
		}
		queues[i] = b.addRule(p.pattern)
	}
	ids := b.putEvents(diffEvents)
	eventIndex := map[string]int{}
	for j, id := range ids {
		eventIndex[id] = j
	}
	moto := make([][]bool, len(diffPatterns))
	for i, q := range queues {
		moto[i] = make([]bool, len(diffEvents))
		for _, id := range b.received(q) {
			j, ok := eventIndex[id]
			if !ok || moto[i][j] {
				t.Fatalf("pattern %s: unexpected or repeated event %q", diffPatterns[i].name, id)
			}
			moto[i][j] = true
		}
	}

	// The same envelopes through this package.
	decoded := make([]map[string]any, len(diffEvents))
	for j, e := range diffEvents {
		ev, err := eventpattern.DecodeEvent(envelope(t, ids[j], e))
		if err != nil {
			t.Fatalf("event %s: %v", e.name, err)
		}
		decoded[j] = ev
	}
	agree, matches := 0, 0
	for i, p := range diffPatterns {
		pat := eventpattern.MustCompile(p.pattern)
		var hit, miss int
		for j, e := range diffEvents {
			ours := pat.MatchEvent(decoded[j])
			if ours != moto[i][j] {
				t.Errorf("pattern %s %s\n  event %s: moto %v, eventpattern %v", p.name, p.pattern, e.name, moto[i][j], ours)
				continue
			}
			agree++
			if ours {
				hit++
				matches++
			} else {
				miss++
			}
		}
		// A pattern that matches every event, or none, tells nothing.
		if hit == 0 || miss == 0 {
			t.Errorf("pattern %s matched %d of %d events; the table needs events on both sides", p.name, hit, len(diffEvents))
		}
	}
	t.Logf("%d patterns x %d events: %d of %d pairs agree (%d matches)",
		len(diffPatterns), len(diffEvents), agree, len(diffPatterns)*len(diffEvents), matches)

	for _, p := range diffInvalidPatterns {
		_, compileErr := eventpattern.Compile([]byte(p))
		motoErr := b.putRule(p)
		var invalid *ebtypes.InvalidEventPatternException
		if compileErr == nil || !errors.As(motoErr, &invalid) {
			t.Errorf("pattern %s: Compile error %v, moto PutRule error %v; want both to refuse it", p, compileErr, motoErr)
		}
	}
}

// motoDeviations are the cases left out of the tables above because moto answers them
// differently from EventBridge. Each runs through moto too, so the list stays true: when
// a moto upgrade fixes one, this test says so and the case belongs in the tables above.
var motoDeviations = []struct {
	name, pattern, detail string
	aws, moto             bool
	why                   string
}{
	{"number is not boolean", `{"detail":{"flag":[1]}}`, `{"flag":true}`, false, true,
		"exact matching is type-sensitive; in moto's Python True == 1"},
	{"numeric only on numbers", `{"detail":{"flag":[{"numeric":[">",0]}]}}`, `{"flag":true}`, false, true,
		"numeric matching works only with JSON numbers; moto treats a Python bool as an int"},
	{"array of objects", `{"detail":{"changes":{"field":["Name"]}}}`, `{"changes":[{"field":"Name","old":"a","new":"b"}]}`, true, false,
		"EventBridge matches a pattern object against each object of an array; moto looks up flattened object paths only"},
	{"nested arrays", `{"detail":{"nested":["b"]}}`, `{"nested":[["a"],["b"]]}`, true, false,
		"EventBridge flattens arrays of arrays; moto compares the inner arrays as values"},
	{"empty array is no value", `{"detail":{"tags":[{"exists":true}]}}`, `{"tags":[]}`, false, true,
		"EventBridge flattens arrays, so an empty one holds no value; moto counts the empty list as present"},
}

// motoAcceptsInvalid are patterns EventBridge refuses and moto accepts.
var motoAcceptsInvalid = []struct{ pattern, why string }{
	{`{}`, "EventBridge refuses empty objects; moto accepts {} and routes every event to it"},
	{`{"source":[{"wildcard":"a**b"}]}`, "EventBridge refuses consecutive wildcard characters; moto does not check"},
	{`{"n":[{"numeric":["<",10,">",0]}]}`, "EventBridge wants the lower bound first; moto does not check"},
	{`{"s":[{"anything-but":["a",1]}]}`, "EventBridge refuses mixed anything-but lists; moto does not check"},
}

func TestMotoDeviations(t *testing.T) {
	t.Parallel() // a bus, rules and queues of its own
	b := newMotoBus(t)
	queues := make([]string, len(motoDeviations))
	events := make([]diffEvent, len(motoDeviations))
	for k, d := range motoDeviations {
		queues[k] = b.addRule(d.pattern)
		events[k] = diffEvent{name: d.name, source: "test.deviation", detailType: "Deviation", detail: d.detail}
	}
	ids := b.putEvents(events)
	for k, d := range motoDeviations {
		var motoGot bool
		for _, id := range b.received(queues[k]) {
			motoGot = motoGot || id == ids[k]
		}
		ours, err := eventpattern.MustCompile(d.pattern).Match(envelope(t, ids[k], events[k]))
		if err != nil {
			t.Fatal(err)
		}
		if ours != d.aws {
			t.Errorf("%s: eventpattern %v, want EventBridge's %v (%s)", d.name, ours, d.aws, d.why)
		}
		if motoGot != d.moto {
			t.Errorf("%s: moto now answers %v like EventBridge; move the case into the differential tables", d.name, motoGot)
		}
	}
	for _, c := range motoAcceptsInvalid {
		if _, err := eventpattern.Compile([]byte(c.pattern)); err == nil {
			t.Errorf("Compile(%s) accepted it; %s", c.pattern, c.why)
		}
		if err := b.putRule(c.pattern); err != nil {
			t.Errorf("moto now refuses %s (%v); move it to diffInvalidPatterns", c.pattern, err)
		}
	}
}

// motoBus is a custom event bus in moto whose rules each deliver to their own queue.
type motoBus struct {
	t     *testing.T
	ctx   context.Context
	eb    *eventbridge.Client
	sq    *sqs.Client
	name  string
	rules int
}

func newMotoBus(t *testing.T) *motoBus {
	t.Helper()
	cfg := mototest.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b := &motoBus{t: t, ctx: ctx, eb: eventbridge.NewFromConfig(cfg), sq: sqs.NewFromConfig(cfg),
		name: mototest.Name("ep")}
	if _, err := b.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(b.name)}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	return b
}

func (b *motoBus) nextName() string {
	b.rules++
	return fmt.Sprintf("%s-%03d", b.name, b.rules)
}

// putRule only creates a rule, for checking whether moto accepts the pattern.
func (b *motoBus) putRule(pattern string) error {
	_, err := b.eb.PutRule(b.ctx, &eventbridge.PutRuleInput{
		Name: aws.String(b.nextName()), EventBusName: aws.String(b.name), EventPattern: aws.String(pattern),
	})
	return err
}

// addRule creates a rule for the pattern with a queue as its target; it returns the
// queue's URL.
func (b *motoBus) addRule(pattern string) string {
	t := b.t
	name := b.nextName()
	q, err := b.sq.CreateQueue(b.ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	attrs, err := b.sq.GetQueueAttributes(b.ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if _, err := b.eb.PutRule(b.ctx, &eventbridge.PutRuleInput{
		Name: aws.String(name), EventBusName: aws.String(b.name), EventPattern: aws.String(pattern),
		State: ebtypes.RuleStateEnabled,
	}); err != nil {
		t.Fatalf("PutRule %s: %v", pattern, err)
	}
	if _, err := b.eb.PutTargets(b.ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(name), EventBusName: aws.String(b.name),
		Targets: []ebtypes.Target{{
			Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"]),
			// Only the event id is needed. moto builds every delivered message through
			// JSONPath parsers it compiles afresh per path; one path instead of its
			// default eight makes this test about eight times faster.
			InputTransformer: &ebtypes.InputTransformer{
				InputPathsMap: map[string]string{"id": "$.id"},
				InputTemplate: aws.String(`{"id": "<id>"}`),
			},
		}},
	}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	return aws.ToString(q.QueueUrl)
}

// putEvents puts each event once, ten to a call, and returns their ids in order. moto
// routes them to the rules' queues during the call.
func (b *motoBus) putEvents(events []diffEvent) []string {
	t := b.t
	ids := make([]string, 0, len(events))
	for start := 0; start < len(events); start += 10 {
		var entries []ebtypes.PutEventsRequestEntry
		for _, e := range events[start:min(start+10, len(events))] {
			entries = append(entries, ebtypes.PutEventsRequestEntry{
				EventBusName: aws.String(b.name), Source: aws.String(e.source), DetailType: aws.String(e.detailType),
				Detail: aws.String(e.detail), Resources: e.resources,
			})
		}
		out, err := b.eb.PutEvents(b.ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
		if out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %d failed entries: %+v", out.FailedEntryCount, out.Entries)
		}
		for _, r := range out.Entries {
			ids = append(ids, aws.ToString(r.EventId))
		}
	}
	return ids
}

// received drains a queue and returns the ids of the events in it.
func (b *motoBus) received(queueURL string) []string {
	t := b.t
	var ids []string
	for {
		out, err := b.sq.ReceiveMessage(b.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			return ids
		}
		for _, m := range out.Messages {
			var ev struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil || ev.ID == "" {
				t.Fatalf("queue message %q carries no event id (%v)", aws.ToString(m.Body), err)
			}
			ids = append(ids, ev.ID)
		}
	}
}

// envelope is the event as EventBridge hands it to rules.
func envelope(t *testing.T, id string, e diffEvent) []byte {
	t.Helper()
	resources := e.resources
	if resources == nil {
		resources = []string{}
	}
	env := map[string]any{
		"version": "0", "id": id, "detail-type": e.detailType, "source": e.source,
		"account": "123456789012", "time": "2026-03-02T10:00:00Z", "region": mototest.Region,
		"resources": resources, "detail": json.RawMessage(e.detail),
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatalf("event %s: %v", e.name, err)
	}
	return b
}
