package ingest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
)

// asFunctionURL is an events/ingest request as a function URL delivers it: no route key,
// no path parameters, the function URL's domain.
func asFunctionURL(t *testing.T, apiGateway []byte) events.LambdaFunctionURLRequest {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(apiGateway, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "pathParameters")
	m["routeKey"] = "$default"
	rc, _ := m["requestContext"].(map[string]any)
	rc["routeKey"], rc["domainName"], rc["domainPrefix"] = "$default", "abcdefghij.lambda-url.us-east-1.on.aws", "abcdefghij"
	delete(rc, "stage")
	b, _ := json.Marshal(m)
	var e events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFunctionURLAnswersAsTheHTTPAPI: every events/ingest request, in the function URL's
// shape, gets the answer the HTTP API's shape gets, and queues the same envelope.
func TestFunctionURLAnswersAsTheHTTPAPI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "ingest", "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("events/ingest: %d files, %v", len(files), err)
	}
	handler := func() (*Handler, *memqueue.Queue) {
		tokens, _ := NewTokens([]string{"local-test-token"})
		q := memqueue.New()
		return &Handler{Tokens: tokens, Queue: q, Now: func() time.Time { return fixedNow }}, q
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var api events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &api); err != nil {
			t.Fatal(err)
		}
		hAPI, qAPI := handler()
		hURL, qURL := handler()
		want, _ := hAPI.HandleAPIGateway(context.Background(), api)
		got, _ := hURL.HandleFunctionURL(context.Background(), asFunctionURL(t, b))
		if got.StatusCode != want.StatusCode || got.Body != want.Body || got.Headers["Content-Type"] != want.Headers["Content-Type"] {
			t.Errorf("%s: function URL answered %d %s, HTTP API %d %s", filepath.Base(f), got.StatusCode, got.Body, want.StatusCode, want.Body)
		}
		if a, u := qAPI.Visible(), qURL.Visible(); len(a) != len(u) || len(a) == 1 && a[0].Body != u[0].Body {
			t.Errorf("%s: queued %v through the function URL, %v through the HTTP API", filepath.Base(f), u, a)
		}
	}
}

// The function URL has no routes: the handler refuses any other path, and a method other
// than POST as the HTTP API route does.
func TestFunctionURLChecksTheRoute(t *testing.T) {
	f := newFixture(t, "info")
	req := events.LambdaFunctionURLRequest{RawPath: "/webhooks/" + goodToken, Body: body(sampleText)}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = "r1"
	for path, want := range map[string]int{"/webhooks/" + goodToken: 200, "/": 404, "/other/" + goodToken: 404, "/webhooks/": 401, "/webhooks/" + goodToken + "/x": 401} {
		req.RawPath = path
		if resp, _ := f.h.HandleFunctionURL(context.Background(), req); resp.StatusCode != want {
			t.Errorf("POST %s: %d %s, want %d", path, resp.StatusCode, resp.Body, want)
		}
	}
	req.RawPath = "/webhooks/" + goodToken
	req.RequestContext.HTTP.Method = "GET"
	if resp, _ := f.h.HandleFunctionURL(context.Background(), req); resp.StatusCode != 405 {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if strings.Contains(f.logs.String(), goodToken) {
		t.Error("the log holds the token")
	}
}
