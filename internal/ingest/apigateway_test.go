package ingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
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

// volatileLog are a log line's fields that depend on the moment.
var volatileLog = regexp.MustCompile(`"(time|durationMs)":("[^"]*"|[0-9.]+),?`)

// HandleHTTPAPI (what functions/ingest starts, decoding only what ingest reads) answers,
// queues and logs exactly as HandleAPIGateway (the whole event type) does, for every
// sample event in events/ingest and the variants above, invoked through aws-lambda-go
// as the runtime invokes them.
func TestHTTPAPIIsAPIGateway(t *testing.T) {
	var payloads [][]byte
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "ingest", "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("sample events: %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	rawPathOnly := apiRequest(goodToken, body(sampleText))
	rawPathOnly.PathParameters = nil
	headerAgent := apiRequest(goodToken, body(sampleText))
	headerAgent.RequestContext.HTTP.UserAgent = ""
	encoded := apiRequest(rotatedToken, base64.StdEncoding.EncodeToString([]byte(body(sampleText))))
	encoded.IsBase64Encoded = true
	for _, req := range []events.APIGatewayV2HTTPRequest{rawPathOnly, headerAgent, encoded, apiRequest("wrong", body(sampleText))} {
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	for i, p := range payloads {
		whole, slim := newFixture(t, "info"), newFixture(t, "info")
		a, errA := lambda.NewHandler(whole.h.HandleAPIGateway).Invoke(context.Background(), p)
		b, errB := lambda.NewHandler(slim.h.HandleHTTPAPI).Invoke(context.Background(), p)
		if errA != nil || errB != nil || string(a) != string(b) {
			t.Errorf("payload %d: HandleAPIGateway answered %s (%v), HandleHTTPAPI %s (%v)", i, a, errA, b, errB)
		}
		if qa, qb := whole.queued(t), slim.queued(t); !reflect.DeepEqual(qa, qb) {
			t.Errorf("payload %d: queued %+v and %+v", i, qa, qb)
		}
		norm := func(s string) string { return volatileLog.ReplaceAllString(s, "") }
		if norm(whole.logs.String()) != norm(slim.logs.String()) {
			t.Errorf("payload %d: logged\n%s\nand\n%s", i, whole.logs, slim.logs)
		}
	}
}
