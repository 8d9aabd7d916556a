package samapp

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/peerbridge/peerbridge/internal/repo"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

var update = flag.Bool("update", false, "rewrite events/ (but events/schemas/) from the webhook samples")

// The sample world of events/: the values env.json gives the functions, and the ids the
// webhook samples' links carry (internal/webhooksamples).
const (
	sampleRegion    = "us-east-1"
	sampleAccount   = "123456789012" // moto's default account, so env.json's URLs work against it
	sampleStack     = "peerbridge"
	sampleBus       = sampleStack + "-events"
	sampleQueue     = sampleStack + "-webhooks"
	sampleQueueURL  = "https://sqs." + sampleRegion + ".amazonaws.com/" + sampleAccount + "/" + sampleQueue
	sampleToken     = "local-test-token"
	sampleAPIKey    = "local-test-key"
	sampleAPIUser   = "bot@acme.example" // the API key's owner: IGNORE_AUTHORS
	sampleSource    = peerdom.DefaultSource
	sampleSenderIP  = "203.0.113.10"
	sampleUserAgent = "sample-sender/1.0"

	sampleRoleID       = "9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66" // the Facilitator role of the samples
	samplePeerID       = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" // Ada Lovelace
	sampleOnboardingID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" // the role every new peer gets
	sampleRoleDefaults = `{"Domain": "To be defined", "Purpose": "To be defined"}`
)

var sampleTime = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// ingestCase is one file of events/ingest/: an API Gateway HTTP API request and the status
// ingest must answer. Kind names the webhook sample whose text it carries, if any.
type ingestCase struct {
	file   string
	kind   string
	status int
	token  string
	body   string
	base64 bool
}

func ingestCases() []ingestCase {
	var cs []ingestCase
	for _, kind := range webhooksamples.Kinds() {
		file := kind
		if kind == webhooksamples.Test {
			file = "test-url"
		}
		cs = append(cs, ingestCase{file: file, kind: kind, status: 200, body: string(must(webhooksamples.Body(kind)))})
	}
	roleCreated := string(must(webhooksamples.Body("role-created")))
	// A body over 100 KiB: a role whose description someone pasted a whole document into.
	huge, _ := json.Marshal(map[string]string{"text": must(webhooksamples.Get("role-created")) +
		"\n**Description:** " + strings.Repeat("Meetings that end on time, with decisions. ", 2400)})
	return append(cs,
		ingestCase{file: "base64-body", kind: "role-updated", status: 200, body: string(must(webhooksamples.Body("role-updated"))), base64: true},
		ingestCase{file: "bad-token", status: 401, token: "wrong-token", body: roleCreated},
		ingestCase{file: "bad-body-empty", status: 400, body: ""},
		ingestCase{file: "bad-body-not-json", status: 400, body: "text=Role+created"},
		ingestCase{file: "bad-body-not-object", status: 400, body: `["Role created"]`},
		ingestCase{file: "bad-text-missing", status: 400, body: `{"message": "Role created"}`},
		ingestCase{file: "bad-text-not-string", status: 400, body: `{"text": 42}`},
		ingestCase{file: "bad-text-empty", status: 400, body: `{"text": "  "}`},
		ingestCase{file: "bad-base64", status: 400, body: "not base64 %%%", base64: true},
		ingestCase{file: "too-large", status: 413, body: string(huge)},
		// An 88 KB body whose event would not fit the bus: its field carried twice, each
		// U+2028 in it a 6-byte escape in the event's JSON.
		ingestCase{file: "too-large-event", status: 413, body: string(webhooksamples.EventTooLargeForBus())},
	)
}

// workerCase is one file of events/worker/: an SQS batch and the message ids the worker
// must report as failed (only the envelope that is not one).
type workerCase struct {
	file   string
	kinds  []string // the samples queued, in order; "" marks a message that is no envelope
	failed []int    // indexes of the records that must fail
}

func workerCases() []workerCase {
	return []workerCase{
		{file: "batch", kinds: []string{"role-updated", "peer-created", webhooksamples.Test}},
		{file: "batch-with-bad-envelope", kinds: []string{"group-created", ""}, failed: []int{1}},
	}
}

// actionCase is one file of events/<action>/: an EventBridge event made by parsing a
// sample, as the worker publishes it, and what the action must do with it.
type actionCase struct {
	function string // the function folder, e.g. "onboard-peer"
	file     string
	kind     string
	author   string // replaces the sample's author line when set
}

func actionCases() []actionCase {
	return []actionCase{
		{function: "onboard-peer", file: "peer-created", kind: "peer-created"},
		// The action's own API user made the change: ignored, so it cannot loop.
		{function: "onboard-peer", file: "peer-created-by-api-user", kind: "peer-created", author: "Peerbridge Bot (" + sampleAPIUser + ")"},
		{function: "role-defaults", file: "role-created", kind: "role-created"},
		{function: "enrich", file: "role-updated", kind: "role-updated"},
	}
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("webhook sample missing")
	}
	return v
}

// sampleID is a fixed UUID made from a seed, so regenerated files do not change.
func sampleID(seed string) string {
	b := sha256.Sum256([]byte(seed))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// requestID is an API Gateway request id (the delivery id ingest gives a webhook).
func requestID(seed string) string {
	b := sha256.Sum256([]byte("request " + seed))
	return base64.StdEncoding.EncodeToString(b[:11])
}

// The JSON shapes of the samples, fields in the order AWS documents them.
type (
	httpRequest struct {
		Version         string            `json:"version"`
		RouteKey        string            `json:"routeKey"`
		RawPath         string            `json:"rawPath"`
		RawQueryString  string            `json:"rawQueryString"`
		Headers         map[string]string `json:"headers"`
		RequestContext  httpContext       `json:"requestContext"`
		PathParameters  map[string]string `json:"pathParameters"`
		Body            string            `json:"body,omitempty"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	httpContext struct {
		AccountID    string   `json:"accountId"`
		APIID        string   `json:"apiId"`
		DomainName   string   `json:"domainName"`
		DomainPrefix string   `json:"domainPrefix"`
		HTTP         httpDesc `json:"http"`
		RequestID    string   `json:"requestId"`
		RouteKey     string   `json:"routeKey"`
		Stage        string   `json:"stage"`
		Time         string   `json:"time"`
		TimeEpoch    int64    `json:"timeEpoch"`
	}
	httpDesc struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Protocol  string `json:"protocol"`
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
	}
	sqsBatch struct {
		Records []sqsRecord `json:"Records"`
	}
	sqsRecord struct {
		MessageID         string            `json:"messageId"`
		ReceiptHandle     string            `json:"receiptHandle"`
		Body              string            `json:"body"`
		Attributes        map[string]string `json:"attributes"`
		MessageAttributes map[string]any    `json:"messageAttributes"`
		MD5OfBody         string            `json:"md5OfBody"`
		EventSource       string            `json:"eventSource"`
		EventSourceARN    string            `json:"eventSourceARN"`
		AWSRegion         string            `json:"awsRegion"`
	}
	busEvent struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Account    string          `json:"account"`
		Time       time.Time       `json:"time"`
		Region     string          `json:"region"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
)

const apiID = "a1b2c3d4e5"

func (c ingestCase) request() httpRequest {
	token := c.token
	if token == "" {
		token = sampleToken
	}
	body := c.body
	if c.base64 && strings.HasPrefix(body, "{") {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	path := "/webhooks/" + token
	return httpRequest{
		Version:        "2.0",
		RouteKey:       "POST /webhooks/{token}",
		RawPath:        path,
		RawQueryString: "",
		Headers: map[string]string{
			"content-length": fmt.Sprint(len(c.body)),
			"content-type":   "application/json",
			"host":           apiID + ".execute-api." + sampleRegion + ".amazonaws.com",
			"user-agent":     sampleUserAgent,
		},
		RequestContext: httpContext{
			AccountID:    sampleAccount,
			APIID:        apiID,
			DomainName:   apiID + ".execute-api." + sampleRegion + ".amazonaws.com",
			DomainPrefix: apiID,
			HTTP:         httpDesc{Method: "POST", Path: path, Protocol: "HTTP/1.1", SourceIP: sampleSenderIP, UserAgent: sampleUserAgent},
			RequestID:    requestID(c.file),
			RouteKey:     "POST /webhooks/{token}",
			Stage:        "$default",
			Time:         sampleTime.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    sampleTime.UnixMilli(),
		},
		PathParameters:  map[string]string{"token": token},
		Body:            body,
		IsBase64Encoded: c.base64,
	}
}

// delivery is the envelope ingest queues for a sample.
func delivery(seed, kind string) peerdom.Delivery {
	text := must(webhooksamples.Get(kind))
	return peerdom.NewDelivery(requestID(seed), sampleTime, text, peerdom.Sender{Address: sampleSenderIP, UserAgent: sampleUserAgent})
}

func (c workerCase) batch() (sqsBatch, error) {
	var b sqsBatch
	for i, kind := range c.kinds {
		body := `{"note": "not a delivery envelope: it has no version, id or text"}`
		if kind != "" {
			var err error
			if body, err = peerdom.EncodeDelivery(delivery(fmt.Sprintf("%s-%d", c.file, i), kind)); err != nil {
				return b, err
			}
		}
		sum := md5.Sum([]byte(body))
		b.Records = append(b.Records, sqsRecord{
			MessageID:     sampleID(fmt.Sprintf("message %s %d", c.file, i)),
			ReceiptHandle: "AQEB" + base64.StdEncoding.EncodeToString([]byte(sampleID("receipt "+c.file+fmt.Sprint(i)))),
			Body:          body,
			Attributes: map[string]string{
				"ApproximateReceiveCount":          "1",
				"SentTimestamp":                    fmt.Sprint(sampleTime.UnixMilli()),
				"SenderId":                         "AROAEXAMPLEINGESTROLE:peerbridge-IngestFunction",
				"ApproximateFirstReceiveTimestamp": fmt.Sprint(sampleTime.Add(time.Second).UnixMilli()),
			},
			MessageAttributes: map[string]any{},
			MD5OfBody:         hex.EncodeToString(sum[:]),
			EventSource:       "aws:sqs",
			EventSourceARN:    "arn:aws:sqs:" + sampleRegion + ":" + sampleAccount + ":" + sampleQueue,
			AWSRegion:         sampleRegion,
		})
	}
	return b, nil
}

// event is the EventBridge event the worker publishes for the case's sample.
func (c actionCase) event() (busEvent, peerdom.Event, error) {
	d := delivery(c.function+"-"+c.file, c.kind)
	if c.author != "" {
		head, rest, _ := strings.Cut(d.Text, "**Author:** ")
		_, rest, _ = strings.Cut(rest, "\n")
		d.Text = head + "**Author:** " + c.author + "\n" + rest
	}
	ev := peerdom.NewEvent(sampleSource, d)
	detail, err := marshal(ev.Detail, false)
	if err != nil {
		return busEvent{}, ev, err
	}
	return busEvent{Version: "0", ID: sampleID("event " + c.function + c.file), DetailType: ev.DetailType, Source: ev.Source,
		Account: sampleAccount, Time: ev.Time, Region: sampleRegion, Resources: []string{}, Detail: detail}, ev, nil
}

// envFile is events/env.json: `sam local invoke --env-vars events/env.json` values that
// need no AWS secret. Only variables the template declares take effect (SAM's rule).
func envFile() map[string]map[string]string {
	peerdomAPI := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"PEERDOM_API_URL":           "https://api.peerdom.org/v1",
			"PEERDOM_API_KEY_PARAMETER": "",
			"PEERDOM_API_KEY":           sampleAPIKey,
			"IGNORE_AUTHORS":            sampleAPIUser,
			"EVENT_BUS_NAME":            sampleBus,
			"EVENT_SOURCE":              sampleSource,
			"IDEMPOTENCY_TABLE":         "", // no table locally: every delivery runs the action
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return map[string]map[string]string{
		"Parameters":           {"LOG_LEVEL": "debug"},
		"IngestFunction":       {"QUEUE_URL": sampleQueueURL, "EVENT_SOURCE": sampleSource, "WEBHOOK_TOKEN_SECRET_ID": "", "WEBHOOK_TOKENS": sampleToken},
		"IngestUrlFunction":    {"QUEUE_URL": sampleQueueURL, "EVENT_SOURCE": sampleSource, "WEBHOOK_TOKEN_SECRET_ID": "", "WEBHOOK_TOKENS": sampleToken},
		"WorkerFunction":       {"EVENT_BUS_NAME": sampleBus, "EVENT_SOURCE": sampleSource},
		"OnboardPeerFunction":  peerdomAPI(map[string]string{"ONBOARDING_ROLE_IDS": sampleOnboardingID}),
		"RoleDefaultsFunction": peerdomAPI(map[string]string{"ROLE_DEFAULTS": sampleRoleDefaults}),
		"EnrichFunction":       peerdomAPI(map[string]string{"STATE_TABLE": ""}),
		"ReconcileFunction":    peerdomAPI(map[string]string{"STATE_TABLE": ""}), // no tables locally: state in memory, no lease
	}
}

func marshal(v any, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Markdown and arrows stay readable
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if indent {
		return buf.Bytes(), nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// scheduledEvent is what an EventBridge schedule sends ReconcileFunction (its content
// does not matter to the function).
func scheduledEvent() busEvent {
	return busEvent{Version: "0", ID: sampleID("schedule"), DetailType: "Scheduled Event", Source: "aws.events", Account: sampleAccount,
		Time: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC), Region: sampleRegion,
		Resources: []string{"arn:aws:events:" + sampleRegion + ":" + sampleAccount + ":rule/peerbridge-ReconcileScheduleRule"}, Detail: json.RawMessage("{}")}
}

// eventFiles is every generated file of events/, by path relative to the repository.
func eventFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(path string, v any) error {
		b, err := marshal(v, true)
		files[path] = b
		return err
	}
	for _, c := range ingestCases() {
		if err := add("events/ingest/"+c.file+".json", c.request()); err != nil {
			return nil, err
		}
	}
	for _, c := range workerCases() {
		b, err := c.batch()
		if err != nil {
			return nil, err
		}
		if err := add("events/worker/"+c.file+".json", b); err != nil {
			return nil, err
		}
	}
	for _, c := range actionCases() {
		ev, _, err := c.event()
		if err != nil {
			return nil, err
		}
		if err := add("events/"+c.function+"/"+c.file+".json", ev); err != nil {
			return nil, err
		}
	}
	if err := add("events/reconcile/scheduled.json", scheduledEvent()); err != nil {
		return nil, err
	}
	return files, add("events/env.json", envFile())
}

// TestEventFiles keeps events/ as the samples make it: run with -update to rewrite.
// Every file there is one the emulator tests invoke (events/schemas/ aside).
func TestEventFiles(t *testing.T) {
	want, err := eventFiles()
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	if *update {
		for path, b := range want {
			full := filepath.Join(root, path)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var onDisk []string
	err = filepath.WalkDir(filepath.Join(root, "events"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel == "events/schemas" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			onDisk = append(onDisk, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(onDisk)
	for _, path := range onDisk {
		if _, ok := want[path]; !ok {
			t.Errorf("%s is not a generated sample, so no test invokes it: add it to events_test.go or remove it", path)
		}
	}
	for path, b := range want {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v (run go test ./internal/samapp -run TestEventFiles -update)", path, err)
			continue
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s differs from what the samples make (run go test ./internal/samapp -run TestEventFiles -update)", path)
		}
	}
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
