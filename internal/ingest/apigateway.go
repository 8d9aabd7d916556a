package ingest

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// HandleAPIGateway is the Lambda handler for API Gateway (HTTP API, payload format 2.0),
// route POST /webhooks/{token}: lambda.Start(h.HandleAPIGateway). It converts the event
// to a Request — the token from PathParameters["token"], else from RawPath
// "/webhooks/<token>"; a base64 body decoded; RequestContext.RequestID as the delivery
// id — and the Response back. It never returns an error: every outcome is an answer.
func (h *Handler) HandleAPIGateway(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := h.Handle(ctx, FromAPIGateway(e))
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}, nil
}

// HTTPAPIRequest is the part of an HTTP API invocation (payload format 2.0) that ingest
// reads. The runtime decodes the event into it, so the rest (every header but the user
// agent, the authorizer, the stage variables...) is skipped, not allocated: about a
// third of a warm invocation's CPU decoded the whole events.APIGatewayV2HTTPRequest
// (issue 22's bench).
type HTTPAPIRequest struct {
	RawPath         string            `json:"rawPath"`
	Headers         httpAPIHeaders    `json:"headers"`
	PathParameters  map[string]string `json:"pathParameters"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  struct {
		RequestID string `json:"requestId"`
		HTTP      struct {
			Method    string `json:"method"`
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent"`
		} `json:"http"`
	} `json:"requestContext"`
}

type httpAPIHeaders struct {
	UserAgent string `json:"user-agent"`
}

// HandleHTTPAPI is HandleAPIGateway decoding only what ingest reads (HTTPAPIRequest):
// what functions/ingest gives lambda.Start.
func (h *Handler) HandleHTTPAPI(ctx context.Context, e HTTPAPIRequest) (events.APIGatewayV2HTTPResponse, error) {
	token, ok := e.PathParameters["token"]
	if !ok {
		token = pathToken(e.RawPath)
	}
	rc := e.RequestContext
	resp := h.Handle(ctx, newRequest(rc.HTTP.Method, token, e.Body, e.IsBase64Encoded, rc.HTTP.SourceIP,
		cmp.Or(rc.HTTP.UserAgent, e.Headers.UserAgent), rc.RequestID))
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}, nil
}

// FromAPIGateway converts an HTTP API request to a Request.
func FromAPIGateway(e events.APIGatewayV2HTTPRequest) Request {
	token, ok := e.PathParameters["token"]
	if !ok {
		token = pathToken(e.RawPath)
	}
	rc := e.RequestContext
	return newRequest(rc.HTTP.Method, token, e.Body, e.IsBase64Encoded, rc.HTTP.SourceIP,
		cmp.Or(rc.HTTP.UserAgent, e.Headers["user-agent"]), rc.RequestID)
}

// newRequest is a Request from the fields the HTTP API and a function URL deliver alike
// (payload format 2.0): the body decoded when it is marked base64-encoded.
func newRequest(method, token, body string, base64Encoded bool, sourceIP, userAgent, requestID string) Request {
	req := Request{Method: method, Token: token, Body: []byte(body), SourceIP: sourceIP, UserAgent: userAgent, DeliveryID: requestID}
	if base64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			req.Body, req.BodyErr = nil, errors.New("invalid webhook body: it is marked base64-encoded but is not valid base64")
		} else {
			req.Body = b
		}
	}
	return req
}

// pathToken is the <token> of a path "/webhooks/<token>"; empty for any other path.
func pathToken(rawPath string) string {
	t, ok := strings.CutPrefix(rawPath, "/webhooks/")
	if !ok || strings.Contains(t, "/") {
		return ""
	}
	return t
}
