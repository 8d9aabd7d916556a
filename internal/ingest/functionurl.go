package ingest

import (
	"context"
	"encoding/base64"
	"errors"
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
	token, _ := strings.CutPrefix(e.RawPath, "/webhooks/")
	if strings.Contains(token, "/") {
		token = ""
	}
	req := Request{
		Method:     e.RequestContext.HTTP.Method,
		Token:      token,
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
