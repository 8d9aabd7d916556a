// Package ingest is the webhook endpoint's logic: check the method and the token, check
// and decode the body, wrap the text in a delivery envelope (peerdom.Delivery) and put it
// on a queue. It answers quickly and only says 200 once the envelope is queued; parsing
// is the worker's job. The queue is an interface (Queue): internal/queue/sqsqueue in AWS, internal/queue/memqueue
// locally and in tests.
package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Queue is where accepted deliveries go. A nil error from Send means the message is
// stored and will be delivered at least once.
type Queue interface {
	Send(ctx context.Context, body string) error
}

// TokenSource gives the accepted tokens. *Tokens is one (a fixed set); *TokenLoader loads
// them from a secret.
type TokenSource interface {
	Tokens(ctx context.Context) (*Tokens, error)
}

// MaxEnvelopeBytes bounds the queued envelope: SQS's message size limit. The text of a
// body within peerdom.MaxBodyBytes only exceeds it when JSON escaping blows it up (e.g.
// control characters), and such a body is refused with 413 like an oversized one.
const MaxEnvelopeBytes = 256 * 1024

// RetryAfterSeconds is the Retry-After of a 503 answer.
const RetryAfterSeconds = 10

// queueMargin is kept free of a request's deadline for answering when the queue hangs.
const queueMargin = 300 * time.Millisecond

// Handler answers webhook requests from API Gateway (HTTP API, payload format 2.0),
// route POST /webhooks/{token}. Its fields are its dependencies; Now and Logger may be
// nil (time.Now, no logs).
//
// It reads these request fields, which is all a caller that builds requests itself (such
// as a local HTTP server) needs to fill: RequestContext.HTTP.Method; PathParameters
// ["token"], else RawPath "/webhooks/<token>"; Body and IsBase64Encoded;
// RequestContext.RequestID (the delivery id; empty: a generated one);
// RequestContext.HTTP.SourceIP and UserAgent (else Headers["user-agent"]).
type Handler struct {
	Tokens TokenSource
	Queue  Queue
	Now    func() time.Time
	Logger *slog.Logger
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

// Handle answers one request. It never returns an error: every outcome, including an
// unreachable queue, is an HTTP answer with a JSON body.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	start := now()
	id := req.RequestContext.RequestID
	if id == "" {
		id = peerdom.NewDeliveryID()
	}
	a := h.handle(ctx, req, id, start)
	h.log(ctx, id, a, now().Sub(start))
	return respond(id, a), nil
}

func (h *Handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest, id string, receivedAt time.Time) answer {
	if req.RequestContext.HTTP.Method != http.MethodPost {
		return answer{status: http.StatusMethodNotAllowed, outcome: OutcomeMethodNotAllowed,
			message: fmt.Sprintf("method %s is not allowed; send the webhook with POST", methodName(req.RequestContext.HTTP.Method))}
	}
	tokens, err := h.Tokens.Tokens(ctx)
	if err != nil {
		return answer{status: http.StatusServiceUnavailable, outcome: OutcomeUnavailable, cause: err,
			message: "webhook tokens cannot be loaded right now; retry later"}
	}
	if !tokens.Match(token(req)) {
		return answer{status: http.StatusUnauthorized, outcome: OutcomeUnauthorized,
			message: "missing or wrong webhook token in the URL (/webhooks/{token})"}
	}

	body, err := decodeBody(req)
	if err != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, message: err.Error()}
	}
	if len(body) > peerdom.MaxBodyBytes {
		return answer{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooLarge, bytes: len(body), message: tooLarge(len(body))}
	}
	hook, err := peerdom.DecodeWebhook(body)
	if err != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, bytes: len(body), message: err.Error()}
	}

	ua := req.RequestContext.HTTP.UserAgent
	if ua == "" {
		ua = req.Headers["user-agent"]
	}
	d := peerdom.NewDelivery(id, receivedAt, hook.Text, peerdom.Sender{Address: req.RequestContext.HTTP.SourceIP, UserAgent: ua})
	envelope, err := EncodeDelivery(d)
	if err != nil {
		return answer{status: http.StatusBadRequest, outcome: OutcomeBadRequest, bytes: len(body), message: "invalid webhook body: " + err.Error()}
	}
	if len(envelope) > MaxEnvelopeBytes {
		return answer{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooLarge, bytes: len(body), text: hook.Text,
			message: fmt.Sprintf("webhook text takes %d bytes once re-encoded for the queue (control characters and invalid UTF-8 grow when escaped); the limit is %d bytes", len(envelope), MaxEnvelopeBytes)}
	}

	sendCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(ctx, deadline.Add(-queueMargin))
		defer cancel()
	}
	if err := h.Queue.Send(sendCtx, envelope); err != nil {
		return answer{status: http.StatusServiceUnavailable, outcome: OutcomeUnavailable, cause: err, bytes: len(body), text: hook.Text,
			message: "the webhook could not be queued right now; nothing was accepted, retry later"}
	}
	return answer{status: http.StatusOK, outcome: OutcomeQueued, bytes: len(body), text: hook.Text}
}

// token is the {token} path segment.
func token(req events.APIGatewayV2HTTPRequest) string {
	if t, ok := req.PathParameters["token"]; ok {
		return t
	}
	t, _ := strings.CutPrefix(req.RawPath, "/webhooks/")
	if t == req.RawPath || strings.Contains(t, "/") {
		return ""
	}
	return t
}

func decodeBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, errors.New("invalid webhook body: it is marked base64-encoded but is not valid base64")
	}
	return b, nil
}

func tooLarge(n int) string {
	return fmt.Sprintf("webhook body is %d bytes; the limit is %d bytes (100 KiB), because the event carries the text and the values parsed from it and must fit EventBridge's 256 KB entry limit",
		n, peerdom.MaxBodyBytes)
}

func methodName(m string) string {
	if m == "" {
		return "(none)"
	}
	return m
}

// EncodeDelivery is the queued form of a delivery: its JSON, without HTML escaping (it
// only inflates Markdown), and with U+FFFE and U+FFFF escaped, since SQS refuses them raw.
func EncodeDelivery(d peerdom.Delivery) (string, error) {
	var buf bytes.Buffer
	buf.Grow(len(d.Text) + 256)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "", err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.Contains(b, []byte("\uFFFE")) || bytes.Contains(b, []byte("\uFFFF")) {
		b = bytes.ReplaceAll(b, []byte("\uFFFE"), []byte(`\ufffe`))
		b = bytes.ReplaceAll(b, []byte("\uFFFF"), []byte(`\uffff`))
	}
	return string(b), nil
}

var jsonHeaders = map[string]string{"Content-Type": "application/json"}

func respond(id string, a answer) events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: a.status, Headers: jsonHeaders}
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
