package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

const (
	goodToken    = "tok-current-0123456789"
	rotatedToken = "tok-previous-9876543210"
	sampleText   = "**[Role](https://app.peerdom.org/acme/roles/1)** was created\n\n**Name:** Ops <lead> & \"co\""
)

var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

type fixture struct {
	h    *Handler
	q    *memqueue.Queue
	logs *bytes.Buffer
}

func newFixture(t *testing.T, level string) fixture {
	t.Helper()
	tokens, err := NewTokens([]string{goodToken, rotatedToken})
	if err != nil {
		t.Fatal(err)
	}
	q := memqueue.New()
	var logs bytes.Buffer
	h := &Handler{Tokens: tokens, Queue: q, Now: func() time.Time { return fixedNow }, Logger: logging.New(&logs, level)}
	return fixture{h: h, q: q, logs: &logs}
}

func request(token, body string) Request {
	return Request{Method: http.MethodPost, Token: token, Body: []byte(body), SourceIP: "203.0.113.9",
		UserAgent: "Peerdom-Webhooks/1.0", DeliveryID: "Jk3sZhVuIAMEbXw="}
}

func body(text string) string {
	b, _ := json.Marshal(map[string]string{"text": text})
	return string(b)
}

// decoded checks the response's invariants (JSON body, content type) and returns the body.
func decoded(t *testing.T, resp Response) map[string]string {
	t.Helper()
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("content type %q", resp.Headers["Content-Type"])
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("status %d body is not a JSON object of strings: %q", resp.Status, resp.Body)
	}
	return m
}

func (f fixture) do(t *testing.T, req Request) (Response, map[string]string) {
	t.Helper()
	resp := f.h.Handle(context.Background(), req)
	return resp, decoded(t, resp)
}

func (f fixture) queued(t *testing.T) []peerdom.Delivery {
	t.Helper()
	var out []peerdom.Delivery
	for _, m := range f.q.Visible() {
		d, err := peerdom.DecodeDelivery([]byte(m.Body))
		if err != nil {
			t.Fatalf("queued message is not a valid envelope: %v\n%s", err, m.Body)
		}
		out = append(out, d)
	}
	return out
}

func TestAcceptedWebhookIsQueuedAsEnvelope(t *testing.T) {
	f := newFixture(t, "info")
	resp, m := f.do(t, request(goodToken, body(sampleText)))
	if resp.Status != 200 || m["id"] != "Jk3sZhVuIAMEbXw=" || len(m) != 1 {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	ds := f.queued(t)
	if len(ds) != 1 {
		t.Fatalf("%d messages queued, want 1", len(ds))
	}
	want := peerdom.Delivery{Version: peerdom.DeliveryVersion, ID: "Jk3sZhVuIAMEbXw=", ReceivedAt: fixedNow, Text: sampleText,
		Sender: peerdom.Sender{Address: "203.0.113.9", UserAgent: "Peerdom-Webhooks/1.0"}}
	if ds[0] != want {
		t.Errorf("envelope\n got %+v\nwant %+v", ds[0], want)
	}
}

func TestGeneratedIDWithoutRequestID(t *testing.T) {
	f := newFixture(t, "info")
	req := request(goodToken, body(sampleText))
	req.DeliveryID = ""
	_, m := f.do(t, req)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(m["id"]) {
		t.Fatalf("generated id %q is not a UUID", m["id"])
	}
	ds := f.queued(t)
	if ds[0].ID != m["id"] {
		t.Errorf("envelope id %q, answered %q", ds[0].ID, m["id"])
	}
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t, "info")
	unreadable := request("nope", "")
	unreadable.BodyErr = errors.New("invalid webhook body: not base64")
	for name, req := range map[string]Request{
		"wrong":           request("tok-current-0123456788", body(sampleText)),
		"empty":           request("", body(sampleText)),
		"invalid body":    request("nope", "{"), // the token is checked first: no body feedback to strangers
		"unreadable body": unreadable,
	} {
		resp, m := f.do(t, req)
		if resp.Status != 401 || m["error"] == "" {
			t.Errorf("%s: got %d %s", name, resp.Status, resp.Body)
		}
	}
	if f.q.Len() != 0 {
		t.Error("an unauthorized request was queued")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, "info")
	for _, method := range []string{"GET", "PUT", "DELETE", ""} {
		req := request(goodToken, body(sampleText))
		req.Method = method
		resp, m := f.do(t, req)
		if resp.Status != 405 || resp.Headers["Allow"] != "POST" || !strings.Contains(m["error"], "POST") {
			t.Errorf("%q: got %d %v %s", method, resp.Status, resp.Headers, resp.Body)
		}
	}
	if f.q.Len() != 0 {
		t.Error("queued")
	}
}

func TestBadBodies(t *testing.T) {
	f := newFixture(t, "info")
	cases := map[string]string{
		"":                      "empty",
		"   ":                   "empty",
		"{":                     "not valid JSON",
		"[1]":                   "JSON object",
		`"text"`:                "JSON object",
		`{"other":"x"}`:         `no "text"`,
		`{"text":3}`:            "must be a string",
		`{"text":null}`:         "must be a string",
		`{"text":"  "}`:         "empty",
		`{"text":"a"} trailing`: "not valid JSON",
	}
	for in, want := range cases {
		resp, m := f.do(t, request(goodToken, in))
		if resp.Status != 400 || !strings.Contains(m["error"], want) {
			t.Errorf("body %q: got %d %s, want 400 mentioning %q", in, resp.Status, resp.Body, want)
		}
	}
	if f.q.Len() != 0 {
		t.Error("a bad body was queued")
	}
}

func TestTooLarge(t *testing.T) {
	f := newFixture(t, "info")
	overhead := len(body(""))
	atLimit := body(strings.Repeat("a", peerdom.MaxBodyBytes-overhead))
	if len(atLimit) != peerdom.MaxBodyBytes {
		t.Fatalf("test body is %d bytes", len(atLimit))
	}
	if resp, _ := f.do(t, request(goodToken, atLimit)); resp.Status != 200 {
		t.Fatalf("a body of exactly 100 KiB: %d %s", resp.Status, resp.Body)
	}

	over := atLimit[:len(atLimit)-2] + `a"}`
	resp, m := f.do(t, request(goodToken, over))
	if resp.Status != 413 || !strings.Contains(m["error"], "256 KB") || !strings.Contains(m["error"], "102401") {
		t.Errorf("100 KiB + 1: %d %s", resp.Status, resp.Body)
	}
	if n := len(f.queued(t)); n != 1 {
		t.Errorf("%d queued, want the 1 at the limit", n)
	}
}

func TestTooLargeOnceEscaped(t *testing.T) {
	// Each invalid UTF-8 byte becomes U+FFFD (3 bytes) in the text: a body within the
	// limit whose envelope would not fit the queue. It is refused like an oversized body.
	in := `{"text":"` + strings.Repeat("\xff", 100_000) + `"}`
	f := newFixture(t, "info")
	resp, m := f.do(t, request(goodToken, in))
	if resp.Status != 413 || !strings.Contains(m["error"], "262144") {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	if f.q.Len() != 0 {
		t.Error("queued")
	}
}

func TestQueueDownAnswers503AndClaimsNothing(t *testing.T) {
	f := newFixture(t, "info")
	f.q.FailSend = func(string) error { return errors.New("dial tcp: connection refused") }
	resp, m := f.do(t, request(goodToken, body(sampleText)))
	if resp.Status != 503 || resp.Headers["Retry-After"] != "10" {
		t.Fatalf("got %d %v", resp.Status, resp.Headers)
	}
	if _, claimed := m["id"]; claimed || strings.Contains(m["error"], "connection refused") || !strings.Contains(m["error"], "nothing was accepted") {
		t.Errorf("body %s: must say retry, not claim an id, not leak the cause", resp.Body)
	}
	if f.q.Len() != 0 {
		t.Error("something was queued")
	}
	if !strings.Contains(f.logs.String(), "connection refused") || !strings.Contains(f.logs.String(), `"level":"ERROR"`) {
		t.Errorf("the cause should be logged as an error: %s", f.logs.String())
	}
}

// hangingQueue blocks until its context ends, like an unreachable endpoint.
type hangingQueue struct{}

func (hangingQueue) Send(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestHangingQueueAnswersBeforeDeadline(t *testing.T) {
	f := newFixture(t, "info")
	f.h.Queue = hangingQueue{}
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	resp := f.h.Handle(ctx, request(goodToken, body(sampleText)))
	if resp.Status != 503 || !strings.Contains(resp.Body, "MAY have been queued") {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	if ctx.Err() != nil {
		t.Error("answered only after the invocation deadline")
	}
}

type failingTokens struct{}

func (failingTokens) Tokens(context.Context) (*Tokens, error) {
	return nil, errors.New("secrets manager: throttled")
}

func TestTokensUnavailableIs503(t *testing.T) {
	f := newFixture(t, "info")
	f.h.Tokens = failingTokens{}
	resp, _ := f.do(t, request(goodToken, body(sampleText)))
	if resp.Status != 503 || resp.Headers["Retry-After"] == "" || f.q.Len() != 0 {
		t.Fatalf("got %d %v", resp.Status, resp.Headers)
	}
}

func TestNoncharactersSurviveTheQueue(t *testing.T) {
	f := newFixture(t, "info")
	text := "Role created \uFFFF \uFFFE end"
	if resp, _ := f.do(t, request(goodToken, body(text))); resp.Status != 200 {
		t.Fatal(resp.Body)
	}
	msgs := f.q.Visible()
	if strings.ContainsRune(msgs[0].Body, '\uFFFF') || strings.ContainsRune(msgs[0].Body, '\uFFFE') {
		t.Error("raw U+FFFE/U+FFFF in the message; SQS refuses them")
	}
	d, err := peerdom.DecodeDelivery([]byte(msgs[0].Body))
	if err != nil || d.Text != text {
		t.Errorf("round trip: %q, %v", d.Text, err)
	}
}

func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func TestOneLogLinePerRequestWithoutSecrets(t *testing.T) {
	f := newFixture(t, "info")
	f.do(t, request(goodToken, body(sampleText)))
	f.do(t, request("wrong-token-abc", body(sampleText)))
	f.do(t, request(goodToken, "{"))
	lines := logLines(t, f.logs)
	if len(lines) != 3 {
		t.Fatalf("%d log lines for 3 requests:\n%s", len(lines), f.logs)
	}
	wantOutcome := []string{OutcomeQueued, OutcomeUnauthorized, OutcomeBadRequest}
	for i, l := range lines {
		if l["id"] != "Jk3sZhVuIAMEbXw=" || l["outcome"] != wantOutcome[i] {
			t.Errorf("line %d: %v", i, l)
		}
	}
	for _, secret := range []string{goodToken, "wrong-token-abc", "Ops <lead>", "acme/roles"} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("log contains %q at info level:\n%s", secret, f.logs)
		}
	}
}

func TestDebugLogsTheText(t *testing.T) {
	f := newFixture(t, "debug")
	f.do(t, request(goodToken, body(sampleText)))
	lines := logLines(t, f.logs)
	if len(lines) != 1 || lines[0]["text"] != sampleText {
		t.Fatalf("debug line: %v", lines)
	}
	if strings.Contains(f.logs.String(), goodToken) {
		t.Error("token logged at debug level")
	}
}

func TestEventTooLargeForTheBusIs413(t *testing.T) {
	// An 88 KB body under the body limit, but its Purpose (~88 KB of "a" and U+2028, which
	// JSON writes as a 6-byte escape) is carried twice: the event would be ~300 KB, over
	// EventBridge's 256 KB. Refused now, it is not accepted and then dead-lettered by the
	// worker.
	f := newFixture(t, "info")
	resp, m := f.do(t, request(goodToken, string(webhooksamples.EventTooLargeForBus())))
	if resp.Status != 413 || !strings.Contains(m["error"], "262144") || !regexp.MustCompile(`would take 3\d{5} bytes`).MatchString(m["error"]) {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	if f.q.Len() != 0 {
		t.Error("queued")
	}
	if l := logLines(t, f.logs); len(l) != 1 || l[0]["outcome"] != OutcomeTooLarge {
		t.Errorf("log: %v", l)
	}
}

// TestLessThanRunFitsTheBus: 45 KB of '<' in a field (carried twice in the event) is
// accepted: the event's JSON keeps each '<' as one byte. (Until issue 22 it escaped each
// to \u003c, 6 bytes, and a 14.4 KB run was refused.)
func TestLessThanRunFitsTheBus(t *testing.T) {
	f := newFixture(t, "info")
	resp, _ := f.do(t, request(goodToken, string(webhooksamples.BodyOf(webhooksamples.LessThanRun(45*1024)))))
	if resp.Status != 200 || f.q.Len() != 1 {
		t.Fatalf("got %d %s, queued %d", resp.Status, resp.Body, f.q.Len())
	}
}

// FuzzAcceptedBodiesFitTheBus: whatever body ingest answers 200, the worker can publish.
// The queued envelope is decoded as the worker decodes it and its event built as the
// worker builds it; that entry must be within EventBridge's limit. Bodies are a unit
// repeated up to the body limit, raw or JSON-encoded, as a header's field value or alone.
func FuzzAcceptedBodiesFitTheBus(f *testing.F) {
	for _, unit := range []string{"<", "<>&", "\u2028", `"`, `\\`, `\"`, "\xff", "\x01", "a", "**Name:** <&>\n", "**Skills:** [+] <a> [-] &b\n", "→", "\uFFFE"} {
		f.Add(unit, uint32(1<<20), false, true)
		f.Add(unit, uint32(45*1024), true, false)
	}
	f.Fuzz(func(t *testing.T, unit string, size uint32, raw, asFields bool) {
		if unit == "" {
			return
		}
		const header = "**[Role](https://app.peerdom.org/acme/roles/0f0e5d2c-1b3a-4c5d-8e9f-a0b1c2d3e4f5)** was created\n\n"
		n := int(size%(peerdom.MaxBodyBytes+64)) / len(unit)
		text := strings.Repeat(unit, n)
		if asFields {
			text = header + "**Name:** " + text + "\n**Purpose:** " + text
		}
		in := body(text)
		if raw {
			in = `{"text":"` + text + `"}`
		}
		fx := newFixture(t, "error")
		resp := fx.h.Handle(context.Background(), request(goodToken, in))
		if resp.Status != 200 {
			return
		}
		msgs := fx.q.Visible()
		if len(msgs) != 1 {
			t.Fatalf("answered 200 and queued %d messages", len(msgs))
		}
		d, err := peerdom.DecodeDeliveryString(msgs[0].Body)
		if err != nil {
			t.Fatalf("queued envelope does not decode: %v", err)
		}
		entry, err := busentry.FromDelivery(fx.h.Source, d)
		if err != nil {
			t.Fatalf("worker cannot build the event: %v", err)
		}
		if entry.Size() > bus.MaxPutBytes {
			t.Fatalf("accepted a %d-byte body whose event is %d bytes, over the bus limit %d", len(in), entry.Size(), bus.MaxPutBytes)
		}
	})
}

// A streamed body (ReadBody) is read only once the method and the token are accepted;
// its 413 gives the size it declared, not the part read.
func TestStreamedBodyReadOnlyWhenAccepted(t *testing.T) {
	f := newFixture(t, "info")
	reads := 0
	streamed := func(method, token, b string, declared int64) Request {
		req := request(token, "")
		req.Method, req.Body = method, nil
		req.ReadBody = func() ([]byte, int64, error) { reads++; return []byte(b), declared, nil }
		return req
	}
	if resp, _ := f.do(t, streamed(http.MethodPost, "wrong", body("x"), 0)); resp.Status != 401 {
		t.Errorf("wrong token: %d", resp.Status)
	}
	if resp, _ := f.do(t, streamed(http.MethodGet, goodToken, body("x"), 0)); resp.Status != 405 {
		t.Errorf("GET: %d", resp.Status)
	}
	if reads != 0 {
		t.Errorf("the body was read %d times for refused requests", reads)
	}
	if resp, _ := f.do(t, streamed(http.MethodPost, goodToken, body("**Test** webhook"), 0)); resp.Status != 200 || reads != 1 {
		t.Errorf("accepted: %d, %d reads", resp.Status, reads)
	}
	part := strings.Repeat("a", peerdom.MaxBodyBytes+1)
	resp, m := f.do(t, streamed(http.MethodPost, goodToken, part, 5_000_000))
	if resp.Status != 413 || !strings.Contains(m["error"], "is 5000000 bytes") {
		t.Errorf("5 MB declared, 100 KiB + 1 read: %d %s", resp.Status, resp.Body)
	}
	resp, m = f.do(t, streamed(http.MethodPost, goodToken, part, 0))
	if resp.Status != 413 || !strings.Contains(m["error"], "is over 102400 bytes") {
		t.Errorf("no size declared: %d %s", resp.Status, resp.Body)
	}
}

// A User-Agent of any length is kept bounded (cut at a character boundary): a webhook
// is never refused for it, nor told its text is too large because of it.
func TestUserAgentBounded(t *testing.T) {
	f := newFixture(t, "info")
	for _, ua := range []string{strings.Repeat("A", 200_000), strings.Repeat("é", 200), strings.Repeat("a", MaxUserAgentBytes)} {
		req := request(goodToken, body("**Test** webhook"))
		req.UserAgent = ua
		if resp, _ := f.do(t, req); resp.Status != 200 {
			t.Fatalf("User-Agent of %d bytes: %d %s", len(ua), resp.Status, resp.Body)
		}
	}
	q := f.queued(t)
	if len(q) != 3 {
		t.Fatalf("%d queued", len(q))
	}
	for i, want := range []string{strings.Repeat("A", MaxUserAgentBytes) + "…", strings.Repeat("é", MaxUserAgentBytes/2) + "…", strings.Repeat("a", MaxUserAgentBytes)} {
		if got := q[i].Sender.UserAgent; got != want {
			t.Errorf("delivery %d: User-Agent of %d bytes, want %d", i, len(got), len(want))
		}
	}
}
