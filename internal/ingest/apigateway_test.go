package ingest

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func apiRequest(token, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		RawPath:        "/webhooks/" + token,
		PathParameters: map[string]string{"token": token},
		Headers:        map[string]string{"content-type": "application/json", "user-agent": "Peerdom-Webhooks/1.0"},
		Body:           body,
	}
	req.RequestContext.RequestID = "Jk3sZhVuIAMEbXw="
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.SourceIP = "203.0.113.9"
	req.RequestContext.HTTP.UserAgent = "Peerdom-Webhooks/1.0"
	return req
}

func (f fixture) doAPI(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := f.h.HandleAPIGateway(context.Background(), req)
	if err != nil {
		t.Fatalf("HandleAPIGateway returned an error: %v", err)
	}
	decoded(t, Response{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body})
	return resp
}

func TestAPIGatewayRequestBecomesTheEnvelope(t *testing.T) {
	f := newFixture(t, "info")
	resp := f.doAPI(t, apiRequest(goodToken, body(sampleText)))
	if resp.StatusCode != 200 || resp.Body != `{"id":"Jk3sZhVuIAMEbXw="}` {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	want := peerdom.Delivery{Version: peerdom.DeliveryVersion, ID: "Jk3sZhVuIAMEbXw=", ReceivedAt: fixedNow, Text: sampleText,
		Sender: peerdom.Sender{Address: "203.0.113.9", UserAgent: "Peerdom-Webhooks/1.0"}}
	if ds := f.queued(t); len(ds) != 1 || ds[0] != want {
		t.Errorf("envelopes %+v, want %+v", ds, want)
	}
}

func TestAPIGatewayTokenFromTheRawPath(t *testing.T) {
	f := newFixture(t, "info")
	req := apiRequest(rotatedToken, body(sampleText))
	req.PathParameters = nil // a caller that only sets the path
	if resp := f.doAPI(t, req); resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	for name, path := range map[string]string{"missing": "/webhooks", "nested path": "/webhooks/" + goodToken + "/x", "other route": "/hooks/" + goodToken} {
		req.RawPath = path
		if resp := f.doAPI(t, req); resp.StatusCode != 401 {
			t.Errorf("%s: got %d %s", name, resp.StatusCode, resp.Body)
		}
	}
}

func TestAPIGatewayUserAgentFromTheHeader(t *testing.T) {
	f := newFixture(t, "info")
	req := apiRequest(goodToken, body(sampleText))
	req.RequestContext.HTTP.UserAgent = ""
	req.RequestContext.RequestID = ""
	resp := f.doAPI(t, req)
	ds := f.queued(t)
	if len(ds) != 1 || ds[0].Sender.UserAgent != "Peerdom-Webhooks/1.0" || ds[0].ID == "" || !strings.Contains(resp.Body, ds[0].ID) {
		t.Errorf("answer %s, envelopes %+v", resp.Body, ds)
	}
}

func TestAPIGatewayBase64Body(t *testing.T) {
	f := newFixture(t, "info")
	req := apiRequest(goodToken, base64.StdEncoding.EncodeToString([]byte(body(sampleText))))
	req.IsBase64Encoded = true
	if resp := f.doAPI(t, req); resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if ds := f.queued(t); ds[0].Text != sampleText {
		t.Errorf("text %q", ds[0].Text)
	}

	req.Body = "not*base64!"
	if resp := f.doAPI(t, req); resp.StatusCode != 400 || !strings.Contains(resp.Body, "base64") {
		t.Errorf("invalid base64: %d %s", resp.StatusCode, resp.Body)
	}

	// The decoded size counts, not the encoded one.
	atLimit := body(strings.Repeat("a", peerdom.MaxBodyBytes-len(body(""))))
	req.Body = base64.StdEncoding.EncodeToString([]byte(atLimit))
	if resp := f.doAPI(t, req); resp.StatusCode != 200 {
		t.Errorf("base64 of a 100 KiB body: %d %s", resp.StatusCode, resp.Body)
	}
	req.Body = base64.StdEncoding.EncodeToString([]byte(atLimit[:len(atLimit)-2] + `a"}`))
	if resp := f.doAPI(t, req); resp.StatusCode != 413 {
		t.Errorf("base64 of an oversized body: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestAPIGatewayResponseHeaders(t *testing.T) {
	f := newFixture(t, "info")
	req := apiRequest(goodToken, body(sampleText))
	req.RequestContext.HTTP.Method = http.MethodGet
	resp := f.doAPI(t, req)
	if resp.StatusCode != 405 || resp.Headers["Allow"] != "POST" || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("got %d %v", resp.StatusCode, resp.Headers)
	}
}
