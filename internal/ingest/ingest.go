// Package ingest is the webhook endpoint's logic, on its own Request and Response types:
// check the method and the token, check and decode the body, build the event the worker
// will put on the bus to check it fits (internal/busentry), wrap the text in a delivery
// envelope (peerdom.Delivery) and put it on a queue. It answers quickly and only says
// 200 once the envelope is queued; publishing is the worker's job. The queue is the
// port queue.Sender: internal/queue/sqsqueue in AWS, internal/queue/memqueue locally and
// in tests. apigateway.go and functionurl.go convert the Lambda's events (HTTP API,
// function URL).
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/busentry"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// TokenSource gives the accepted tokens. *Tokens is one (a fixed set); *TokenLoader loads
// them from a secret.
type TokenSource interface {
	Tokens(ctx context.Context) (*Tokens, error)
}

// MaxEnvelopeBytes bounds the queued envelope: SQS's message size limit, as the queue
// port keeps it. The text of a body within peerdom.MaxBodyBytes only exceeds it when JSON
// escaping blows it up (e.g. control characters), and such a body is refused with 413
// like an oversized one.
const MaxEnvelopeBytes = queue.MaxMessageBytes

// RetryAfterSeconds is the Retry-After of a 503 answer.
const RetryAfterSeconds = 10

// queueMargin is kept free of a request's deadline for answering when the queue hangs.
const queueMargin = 300 * time.Millisecond

// Request is one webhook request, as a front end (API Gateway, a local HTTP server)
// hands it over.
type Request struct {
	Method string
	Token  string // the {token} of POST /webhooks/{token}; empty when the path had none
	Body   []byte
	// BodyErr is set by a front end that could not read the body (e.g. invalid base64);
	// the request is then answered 400 with it, after the method and token checks.
	BodyErr error
	// ReadBody, when set, gives Body and BodyErr instead, and is called only once the
	// method and the token are accepted: a front end that streams (serve) thus never
	// reads the body of a request it refuses. size is the body's whole size when the
	// front end knows it though it read only part (a declared Content-Length); else 0.
	ReadBody   func() (body []byte, size int64, err error)
	SourceIP   string
	UserAgent  string
	DeliveryID string // the caller's id for this request; empty: a generated one
}

// Response is the answer: an HTTP status, headers, and a JSON body ({"id": …} for 200,
// else {"error": …}).
type Response struct {
	Status  int
	Headers map[string]string
	Body    string
}

// Handler answers webhook requests. Its fields are its dependencies; Source is the
// events' source, as the worker is configured (empty: peerdom.DefaultSource); Now and
// Logger may be nil (time.Now, no logs).
type Handler struct {
	Tokens TokenSource
	Queue  queue.Sender // where accepted deliveries go
	Source string
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics counts the webhooks accepted, and rejected by reason; nil counts nothing.
	Metrics *metrics.Writer
}

// Outcomes, as logged in the "outcome" attribute of each request's line.
const (
	OutcomeQueued           = "queued"
	OutcomeMethodNotAllowed = "method_not_allowed"
	OutcomeUnauthorized     = "unauthorized"
	OutcomeTooLarge         = "too_large"
	OutcomeBadRequest       = "bad_request"
	OutcomeUnavailable      = "unavailable"
)

// answer is what handle decided; Handle turns it into the response and the log line.
type answer struct {
	status  int
	message string // the error text of a non-200 answer
	outcome string
	cause   error // the internal reason for a 503, logged, never shown
	bytes   int
	text    string // the webhook text, logged at debug level only
}

// Handle answers one request and logs one line for it. Every outcome, an unreachable
// queue included, is an HTTP answer with a JSON body.
func (h *Handler) Handle(ctx context.Context, req Request) Response {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	start := now()
	id := req.DeliveryID
	if id == "" {
		id = peerdom.NewDeliveryID()
	}
	a := h.handle(ctx, req, id, start)
	h.log(ctx, id, a, now().Sub(start))
	h.count(a)
	return respond(id, a)
}

// count writes the request's metric line: accepted, or rejected by reason (the outcome),
// and oversized. A metric lost is not worth failing the request: errors are dropped.
func (h *Handler) count(a answer) {
	switch a.outcome {
	case OutcomeQueued:
		h.Metrics.Count(map[string]int{metrics.WebhooksAccepted: 1}, "", "")
	case OutcomeTooLarge:
		h.Metrics.Count(map[string]int{metrics.WebhooksRejected: 1, metrics.Oversized: 1}, "Reason", a.outcome)
	default:
		h.Metrics.Count(map[string]int{metrics.WebhooksRejected: 1}, "Reason", a.outcome)
	}
}

func (h *Handler) handle(ctx context.Context, req Request, id string, receivedAt time.Time) answer {
	if req.Method != http.MethodPost {
		return answer{status: http.StatusMethodNotAllowed, outcome: OutcomeMethodNotAllowed,
			message: fmt.Sprintf("method %s is not allowed; send the webhook with POST", methodName(req.Method))}
	}
	tokens, err := h.Tokens.Tokens(ctx)
	if err != nil {
		return answer{status: http.StatusServiceUnavailable, outcome: OutcomeUnavailable, cause: err,
			message: "webhook tokens cannot be loaded right now; retry later"}
	}
	if !tokens.Match(req.Token) {
		return answer{status: http.StatusUnauthorized, outcome: OutcomeUnauthorized,
			message: "missing or wrong webhook token in the URL (/webhooks/{token})"}
	}

	var size int64
	if req.ReadBody != nil {
		req.Body, size, req.BodyErr = req.ReadBody()
	}
	if req.BodyErr != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, message: req.BodyErr.Error()}
	}
	body := req.Body
	if len(body) > peerdom.MaxBodyBytes {
		n := max(int64(len(body)), size)
		return answer{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooLarge, bytes: int(n), message: tooLarge(n, size > 0 || req.ReadBody == nil)}
	}
	hook, err := peerdom.DecodeWebhook(body)
	if err != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, bytes: len(body), message: err.Error()}
	}

	d := peerdom.NewDelivery(id, receivedAt, hook.Text, peerdom.Sender{Address: req.SourceIP, UserAgent: boundUserAgent(req.UserAgent)})
	envelope, err := peerdom.EncodeDelivery(d)
	if err != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, bytes: len(body), message: "invalid webhook body: " + err.Error()}
	}
	if len(envelope) > MaxEnvelopeBytes {
		return answer{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooLarge, bytes: len(body), text: hook.Text,
			message: fmt.Sprintf("webhook text takes %d bytes once re-encoded for the queue (control characters and invalid UTF-8 grow when escaped); the limit is %d bytes", len(envelope), MaxEnvelopeBytes)}
	}
	// The event is built here exactly as the worker will build it, so a webhook whose
	// event cannot go on the bus is refused now rather than dead-lettered later.
	entry, err := busentry.FromDelivery(h.Source, d)
	if err != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, bytes: len(body), message: "invalid webhook body: " + err.Error()}
	}
	if n := entry.Size(); n > bus.MaxPutBytes {
		return answer{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooLarge, bytes: len(body), text: hook.Text,
			message: fmt.Sprintf("the event this webhook becomes would take %d bytes on the event bus (the text appears in it more than once, and control characters, U+2028, U+2029 and invalid UTF-8 take 6 bytes each once JSON-escaped); EventBridge's limit for one event is %d bytes (256 KB): send a shorter text", n, bus.MaxPutBytes)}
	}

	sendCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(ctx, deadline.Add(-queueMargin))
		defer cancel()
	}
	if err := h.Queue.Send(sendCtx, envelope); err != nil {
		message := "the queue refused the webhook; nothing was accepted: send it again later"
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || sendCtx.Err() != nil {
			// The send may have reached the queue before the answer was lost.
			message = "the queue did not answer in time; the webhook MAY have been queued: sending it again may deliver it twice (its event then comes with a new id)"
		}
		return answer{status: http.StatusServiceUnavailable, outcome: OutcomeUnavailable, cause: err, bytes: len(body), text: hook.Text, message: message}
	}
	return answer{status: http.StatusOK, outcome: OutcomeQueued, bytes: len(body), text: hook.Text}
}

// MaxUserAgentBytes bounds the User-Agent kept with a delivery (in the queue, the event
// and the logs); a longer one is cut, at a character boundary, and marked with "…".
const MaxUserAgentBytes = 256

func boundUserAgent(ua string) string {
	if len(ua) <= MaxUserAgentBytes {
		return ua
	}
	cut := MaxUserAgentBytes
	for cut > 0 && !utf8.RuneStart(ua[cut]) {
		cut--
	}
	return ua[:cut] + "…"
}

// tooLarge says the body's size: exactly when it is known, else that it is over the limit
// (a streamed body is read no further than that).
func tooLarge(n int64, exact bool) string {
	size := fmt.Sprintf("%d bytes", n)
	if !exact {
		size = fmt.Sprintf("over %d bytes", peerdom.MaxBodyBytes)
	}
	return fmt.Sprintf("webhook body is %s; the limit is %d bytes (100 KiB), because the event carries the text and the values parsed from it and must fit EventBridge's 256 KB entry limit",
		size, peerdom.MaxBodyBytes)
}

func methodName(m string) string {
	if m == "" {
		return "(none)"
	}
	return m
}

var jsonHeaders = map[string]string{"Content-Type": "application/json"}

func respond(id string, a answer) Response {
	resp := Response{Status: a.status, Headers: jsonHeaders}
	if a.status == http.StatusOK {
		b, _ := json.Marshal(struct {
			ID string `json:"id"`
		}{id})
		resp.Body = string(b)
		return resp
	}
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{a.message})
	resp.Body = string(b)
	switch a.status {
	case http.StatusMethodNotAllowed:
		resp.Headers = map[string]string{"Content-Type": "application/json", "Allow": http.MethodPost}
	case http.StatusServiceUnavailable:
		resp.Headers = map[string]string{"Content-Type": "application/json", "Retry-After": strconv.Itoa(RetryAfterSeconds)}
	}
	return resp
}

// log writes the request's one line. The token is never logged (nor the path, which
// holds it); the text, which names people, only at debug level.
func (h *Handler) log(ctx context.Context, id string, a answer, took time.Duration) {
	if h.Logger == nil {
		return
	}
	level := slog.LevelInfo
	switch {
	case a.status >= 500:
		level = slog.LevelError
	case a.status >= 400:
		level = slog.LevelWarn
	}
	if !h.Logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs, slog.String("id", id), slog.Int("status", a.status), slog.String("outcome", a.outcome),
		slog.Int("bytes", a.bytes), slog.Float64("durationMs", float64(took.Microseconds())/1000))
	if a.status != http.StatusOK {
		attrs = append(attrs, slog.String("reason", a.message))
	}
	if a.cause != nil {
		attrs = append(attrs, slog.String("error", a.cause.Error()))
	}
	if a.text != "" && h.Logger.Enabled(ctx, slog.LevelDebug) {
		attrs = append(attrs, slog.String("text", a.text))
	}
	h.Logger.LogAttrs(ctx, level, "webhook", attrs...)
}
