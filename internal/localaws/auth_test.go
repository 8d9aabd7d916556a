package localaws

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/peerbridge/peerbridge/internal/awsconfig"
	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/memqueue"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
)

// guarded is the wire handler behind a Guard on a loopback test server; reached counts
// the requests the guard let through.
func guarded(t *testing.T, creds Credentials) (url string, q *memqueue.Queue, b *membus.Bus, reached *atomic.Int64) {
	t.Helper()
	q, b, reached = memqueue.New(), membus.New(), &atomic.Int64{}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = &Guard{Creds: creds, Hosts: LoopbackHosts(srv.Listener.Addr()), Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		(&Handler{Queues: map[string]queue.Sender{"peerbridge-webhooks": q}, Buses: map[string]bus.Putter{"peerbridge-events": b}}).ServeHTTP(w, r)
	})}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, q, b, reached
}

func clients(t *testing.T, url, keyID, secret string) (sqsqueue.Queue, eventbridgebus.Bus) {
	t.Helper()
	env := map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret}
	cfg, err := awsconfig.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RetryMaxAttempts = 1
	return sqsqueue.New(sqs.NewFromConfig(cfg), url+"/000000000000/peerbridge-webhooks"),
		eventbridgebus.New(eventbridge.NewFromConfig(cfg), "peerbridge-events")
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The real SDK clients, signing with the endpoint's credentials, get through; signed
// with another key, another secret, or not at all, they are refused before the handler.
func TestGuardAcceptsOnlyItsCredentials(t *testing.T) {
	creds := NewCredentials()
	if len(creds.AccessKeyID) != 20 || len(creds.SecretAccessKey) != 40 || creds == NewCredentials() {
		t.Fatalf("credentials %+v: want 20 and 40 characters, different each time", creds)
	}
	url, q, b, reached := guarded(t, creds)
	ctx := context.Background()

	sq, eb := clients(t, url, creds.AccessKeyID, creds.SecretAccessKey)
	if err := sq.Send(ctx, `{"text":"signed"}`); err != nil {
		t.Fatalf("signed SendMessage: %v", err)
	}
	if res, err := eb.PutEvents(ctx, []bus.Entry{{Source: "peerdom", DetailType: "Peer Created", Detail: `{"id":"1"}`}}); err != nil || res[0].Err() != nil {
		t.Fatalf("signed PutEvents: %v %+v", err, res)
	}

	for _, c := range []struct{ name, key, secret, code string }{
		{"wrong secret", creds.AccessKeyID, NewCredentials().SecretAccessKey, "InvalidSignatureException"},
		{"wrong key id", NewCredentials().AccessKeyID, creds.SecretAccessKey, "UnrecognizedClientException"},
		{"the old fixed local credentials", "local", "local", "UnrecognizedClientException"},
	} {
		sq, eb := clients(t, url, c.key, c.secret)
		if err := sq.Send(ctx, `{"text":"forged"}`); apiCode(err) != c.code {
			t.Errorf("%s: SendMessage %v, want %s", c.name, err, c.code)
		}
		if _, err := eb.PutEvents(ctx, []bus.Entry{{Source: "peerdom", DetailType: "Peer Created", Detail: `{"id":"2"}`}}); apiCode(err) != c.code {
			t.Errorf("%s: PutEvents %v, want %s", c.name, err, c.code)
		}
	}

	// Unsigned: a browser's or curl's request.
	for _, target := range []string{"AmazonSQS.SendMessage", "AWSEvents.PutEvents"} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"QueueUrl":"peerbridge-webhooks","MessageBody":"x","Entries":[{"Source":"s","DetailType":"d","Detail":"{}","EventBusName":"peerbridge-events"}]}`))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("unsigned %s: %s, want 403", target, resp.Status)
		}
	}

	// A signed request whose body was changed on the way: the signature covers it.
	tampered := &http.Client{Transport: rewriteBody{next: http.DefaultTransport, from: "signed-2", to: "forged-2"}}
	env := map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey}
	cfg, _ := awsconfig.FromEnv(func(k string) string { return env[k] })
	cfg.RetryMaxAttempts, cfg.HTTPClient = 1, tampered
	if err := sqsqueue.New(sqs.NewFromConfig(cfg), url+"/000000000000/peerbridge-webhooks").Send(ctx, `{"text":"signed-2"}`); apiCode(err) != "InvalidSignatureException" {
		t.Errorf("tampered body: %v, want InvalidSignatureException", err)
	}

	if got := q.Visible(); len(got) != 1 || got[0].Body != `{"text":"signed"}` {
		t.Errorf("queue holds %v, want the one signed message", got)
	}
	if evs := b.Events(); len(evs) != 1 {
		t.Errorf("bus holds %d events, want the one signed", len(evs))
	}
	if n := reached.Load(); n != 2 {
		t.Errorf("%d requests reached the handler, want the 2 signed ones", n)
	}
}

type rewriteBody struct {
	next     http.RoundTripper
	from, to string
}

func (r rewriteBody) RoundTrip(req *http.Request) (*http.Response, error) {
	raw := new(strings.Builder)
	if req.Body != nil {
		buf := make([]byte, 4096)
		for {
			n, err := req.Body.Read(buf)
			raw.Write(buf[:n])
			if err != nil {
				break
			}
		}
	}
	body := strings.Replace(raw.String(), r.from, r.to, 1)
	req.Body = ioNopCloser(body)
	req.ContentLength = int64(len(body))
	return r.next.RoundTrip(req)
}

// A request signed correctly but addressed to another name (DNS rebinding: a web page
// at attacker.example resolved to 127.0.0.1) is refused.
func TestGuardRefusesAForeignHost(t *testing.T) {
	creds := NewCredentials()
	url, q, _, reached := guarded(t, creds)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	for _, host := range []string{"attacker.example:" + port, "attacker.example", "127.0.0.1:1", "localhost.attacker.example:" + port} {
		env := map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey}
		cfg, _ := awsconfig.FromEnv(func(k string) string { return env[k] })
		cfg.RetryMaxAttempts = 1
		client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.BaseEndpoint = aws.String("http://" + host)                                            // signed for that Host...
			o.HTTPClient = &http.Client{Transport: dialTo{addr: strings.TrimPrefix(url, "http://")}} // ...sent here
		})
		err := sqsqueue.New(client, "peerbridge-webhooks").Send(context.Background(), "x")
		if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "is not this endpoint's address") {
			t.Errorf("Host %s: %v, want AccessDeniedException", host, err)
		}
	}
	if len(q.Visible()) != 0 || reached.Load() != 0 {
		t.Errorf("a foreign Host reached the handler")
	}
}

// dialTo sends every request to addr, whatever its URL's host (as DNS rebinding does).
type dialTo struct{ addr string }

func (d dialTo) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, d.addr)
	}}
	defer tr.CloseIdleConnections()
	return tr.RoundTrip(req)
}

func TestCheckLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:3002", "localhost:0", "[::1]:3002"} {
		if err := CheckLoopback("--aws-addr", addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:3102", ":3002", "192.0.2.1:3002", "example.com:3002", "nonsense"} {
		if err := CheckLoopback("--aws-addr", addr); err == nil || !strings.Contains(err.Error(), "--aws-addr") {
			t.Errorf("%s: %v, want a refusal naming --aws-addr", addr, err)
		}
	}
}

func ioNopCloser(s string) readCloser { return readCloser{strings.NewReader(s)} }

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
