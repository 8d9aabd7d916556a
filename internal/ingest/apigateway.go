package ingest

import (
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

// FromAPIGateway converts an HTTP API request to a Request.
func FromAPIGateway(e events.APIGatewayV2HTTPRequest) Request {
	req := Request{
		Method:     e.RequestContext.HTTP.Method,
		Token:      pathToken(e),
		Body:       []byte(e.Body),
		SourceIP:   e.RequestContext.HTTP.SourceIP,
		UserAgent:  e.RequestContext.HTTP.UserAgent,
		DeliveryID: e.RequestContext.RequestID,
	}
	if req.UserAgent == "" {
		req.UserAgent = e.Headers["user-agent"]
	}
	if e.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(e.Body)
		if err != nil {
			req.Body, req.BodyErr = nil, errors.New("invalid webhook body: it is marked base64-encoded but is not valid base64")
		} else {
			req.Body = b
		}
	}
	return req
}

// pathToken is the {token} path segment.
func pathToken(e events.APIGatewayV2HTTPRequest) string {
	if t, ok := e.PathParameters["token"]; ok {
		return t
	}
	t, _ := strings.CutPrefix(e.RawPath, "/webhooks/")
	if t == e.RawPath || strings.Contains(t, "/") {
		return ""
	}
	return t
}
