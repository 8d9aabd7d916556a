package ingest

import (
	"cmp"
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// HandleFunctionURL is the Lambda handler behind a Lambda function URL with AuthType
// NONE (template.yaml's Endpoint=FunctionUrl): lambda.Start(h.HandleFunctionURL). A
// function URL has no routes — every path and method reaches the function — so the route
// is checked here: a path other than /webhooks/<token> is answered 404, as the HTTP API
// answers it; everything else is HandleAPIGateway's answer, from the same Handle.
func (h *Handler) HandleFunctionURL(ctx context.Context, e events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	if !strings.HasPrefix(e.RawPath, "/webhooks/") {
		// Logged nowhere: no webhook arrived, and the path may hold a token.
		return events.LambdaFunctionURLResponse{StatusCode: http.StatusNotFound, Headers: jsonHeaders,
			Body: `{"error":"not found: webhooks go to POST /webhooks/{token}"}`}, nil
	}
	resp := h.Handle(ctx, FromFunctionURL(e))
	return events.LambdaFunctionURLResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}, nil
}

// FromFunctionURL converts a function URL request (payload format 2.0, without path
// parameters) to a Request: the token from RawPath "/webhooks/<token>".
func FromFunctionURL(e events.LambdaFunctionURLRequest) Request {
	rc := e.RequestContext
	return newRequest(rc.HTTP.Method, pathToken(e.RawPath), e.Body, e.IsBase64Encoded, rc.HTTP.SourceIP,
		cmp.Or(rc.HTTP.UserAgent, e.Headers["user-agent"]), rc.RequestID)
}
