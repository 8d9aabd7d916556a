package ingest_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/corpus"
	"github.com/peerbridge/peerbridge/internal/ingest"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/queue/sqsqueue"
	"github.com/peerbridge/peerbridge/internal/repo"
)

// A warm invocation of the ingest function, as a user pays for it: the JSON event in,
// our handler, the real SDK SendMessage (serialization, SigV4 signing, the SDK's MD5
// check of the answer) and the JSON answer out. Only the HTTP round trip is stubbed (an
// in-process http.RoundTripper with SQS's answer), so the figure is CPU time, not
// network. Beside it, the same SDK calls alone with the same message bodies: the ratio is
// our handler's cost on top of the call it cannot avoid (BenchmarkIngestWarm).

const (
	benchToken = "bench-token-0123456789"
	benchQueue = "https://sqs.us-east-1.amazonaws.com/123456789012/peerbridge-webhooks"
)

// receivedAt is the handler's clock: fixed, so each webhook's envelope, and so SQS's
// MD5 of it, is the same in every op.
var receivedAt = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// lambdaHandler is what functions/ingest's main gives lambda.Start.
func lambdaHandler(h *ingest.Handler) lambda.Handler { return lambda.NewHandler(h.HandleAPIGateway) }

// sqsAnswers answers each SendMessage in turn with the next of its canned SQS answers
// (AWS JSON 1.0), cycling; each carries the MD5 of the body the SDK will check.
type sqsAnswers struct {
	answers [][]byte
	next    int
}

func (s *sqsAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil { // the SDK's serialized request, read as the network would
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	body := s.answers[s.next%len(s.answers)]
	s.next++
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"5fde3c0f-9a5c-5b4e-8c1d-2b7f0e3a9d41"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

func newSQSAnswers(envelopes []string) *sqsAnswers {
	s := &sqsAnswers{}
	for i, e := range envelopes {
		sum := md5.Sum([]byte(e))
		s.answers = append(s.answers, fmt.Appendf(nil, `{"MD5OfMessageBody":%q,"MessageId":"0a6f0e3e-0000-4000-8000-%012d"}`, hex.EncodeToString(sum[:]), i))
	}
	return s
}

// sqsClient is the client functions/ingest builds (aws.Config from the environment,
// static credentials as Lambda gives them), with the round trip answered by rt.
func sqsClient(rt http.RoundTripper) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDINGESTBENCH", "ingest-bench-secret", "ingest-bench-session"),
		HTTPClient:  &http.Client{Transport: rt},
	})
}

// invocations are the corpus webhooks as API Gateway (HTTP API, payload 2.0) delivers
// them to the function: events/ingest/role-created.json with each corpus body.
func invocations(b *testing.B) [][]byte {
	root, err := repo.Root()
	if err != nil {
		b.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join(root, "events", "ingest", "role-created.json"))
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	for i, c := range corpus.Load(b) {
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(sample, &req); err != nil {
			b.Fatal(err)
		}
		req.RawPath = "/webhooks/" + benchToken
		req.PathParameters = map[string]string{"token": benchToken}
		req.RequestContext.HTTP.Path = req.RawPath
		req.RequestContext.RequestID = fmt.Sprintf("Jk3sZhVuIAMEb%03d", i)
		req.Body, req.IsBase64Encoded = string(c.Body), false
		req.Headers["content-length"] = strconv.Itoa(len(c.Body))
		payload, err := json.Marshal(req)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, payload)
	}
	return out
}

func benchHandler(b *testing.B, q queue.Sender) *ingest.Handler {
	tokens, err := ingest.NewTokens([]string{benchToken})
	if err != nil {
		b.Fatal(err)
	}
	// Logging at info, as deployed: one JSON line per request.
	return &ingest.Handler{Tokens: tokens, Queue: q, Now: func() time.Time { return receivedAt }, Logger: logging.New(io.Discard, "info")}
}

// recordingQueue keeps what the handler queues.
type recordingQueue struct{ bodies []string }

func (q *recordingQueue) Send(_ context.Context, body string) error {
	q.bodies = append(q.bodies, body)
	return nil
}

// envelopes are the message bodies the handler queues for payloads, in order.
func envelopes(b *testing.B, payloads [][]byte) []string {
	q := &recordingQueue{}
	h := lambdaHandler(benchHandler(b, q))
	for _, p := range payloads {
		invoke(b, h, p)
	}
	if len(q.bodies) != len(payloads) {
		b.Fatalf("%d webhooks queued %d messages", len(payloads), len(q.bodies))
	}
	return q.bodies
}

func invoke(b *testing.B, h lambda.Handler, payload []byte) {
	answer, err := h.Invoke(context.Background(), payload)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Contains(answer, []byte(`"statusCode":200`)) {
		b.Fatalf("not a 200 answer: %s", answer)
	}
}

// BenchmarkIngestWarm is the figure make bench judges: the warm invocation and its
// baseline, the SDK's SendMessage alone with the bodies the handler queues, measured
// alternately, one corpus pass of each per op, so that both see the machine at the same
// moment (on shared cores its speed swings within seconds). It reports each one's mean
// per webhook: invoke-µs and sdk-µs. ns/op is both together, not a figure to read.
func BenchmarkIngestWarm(b *testing.B) {
	payloads := invocations(b)
	bodies := envelopes(b, payloads)
	h := lambdaHandler(benchHandler(b, sqsqueue.New(sqsClient(newSQSAnswers(bodies)), benchQueue)))
	client := sqsClient(newSQSAnswers(bodies))
	ctx := context.Background()
	invokeAll := func() {
		for _, p := range payloads {
			invoke(b, h, p)
		}
	}
	sendAll := func() {
		for _, body := range bodies {
			if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(benchQueue), MessageBody: aws.String(body)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	invokeTime, sdkTime := alternate(b, invokeAll, sendAll)
	b.ReportMetric(invokeTime/float64(len(payloads)), "invoke-µs")
	b.ReportMetric(sdkTime/float64(len(payloads)), "sdk-µs")
}

// alternate runs measured and baseline once per op, taking turns to go first, and
// returns the mean time of each, in µs. The mean, not the median: it keeps each one's
// garbage collection, which the allocating side pays in some ops only.
func alternate(b *testing.B, measured, baseline func()) (measuredMean, baselineMean float64) {
	var mt, bt time.Duration
	n := 0
	timed := func(f func(), total *time.Duration) {
		start := time.Now()
		f()
		*total += time.Since(start)
	}
	b.ReportAllocs()
	for b.Loop() {
		if n%2 == 0 {
			timed(measured, &mt)
			timed(baseline, &bt)
		} else {
			timed(baseline, &bt)
			timed(measured, &mt)
		}
		n++
	}
	perOp := float64(n) * float64(time.Microsecond)
	return float64(mt) / perOp, float64(bt) / perOp
}

// BenchmarkIngestInvoke is the warm invocation alone, per corpus pass: the one to profile.
func BenchmarkIngestInvoke(b *testing.B) {
	payloads := invocations(b)
	answers := newSQSAnswers(envelopes(b, payloads))
	h := lambdaHandler(benchHandler(b, sqsqueue.New(sqsClient(answers), benchQueue)))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range payloads {
			invoke(b, h, p)
		}
	}
}
