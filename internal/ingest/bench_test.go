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
	"github.com/peerbridge/peerbridge/internal/benchpair"
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
func lambdaHandler(h *ingest.Handler) lambda.Handler { return lambda.NewHandler(h.HandleHTTPAPI) }

// newSQSAnswers answers each SendMessage in turn with the next of its canned SQS
// answers (AWS JSON 1.0), cycling; each carries the MD5 of the body the SDK will check.
func newSQSAnswers(envelopes []string) *benchpair.Answers {
	s := &benchpair.Answers{ContentType: "application/x-amz-json-1.0"}
	for i, e := range envelopes {
		sum := md5.Sum([]byte(e))
		s.Bodies = append(s.Bodies, fmt.Appendf(nil, `{"MD5OfMessageBody":%q,"MessageId":"0a6f0e3e-0000-4000-8000-%012d"}`, hex.EncodeToString(sum[:]), i))
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
	b.Helper()
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
	b.Helper()
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
	b.Helper()
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
	b.Helper()
	answer, err := h.Invoke(context.Background(), payload)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Contains(answer, []byte(`"statusCode":200`)) {
		b.Fatalf("not a 200 answer: %s", answer)
	}
}

// BenchmarkIngestWarm is the figure make bench judges: the warm invocation and its
// baselines, the SDK's SendMessage alone with the bodies the handler queues, and the
// runtime's decoding of the event into events.APIGatewayV2HTTPRequest plus that
// SendMessage, measured in turns, one corpus pass of each per op, so that all see the
// machine at the same moment (on shared cores its speed swings within seconds). It
// reports each one's mean per webhook, wall time (invoke-µs, sdk-µs) and CPU time
// (invoke-cpu-µs, sdk-cpu-µs, baseline-cpu-µs). ns/op is all together, not a figure
// to read.
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
	// The baseline of the judged ratio: what any ingest function must do with an
	// invocation, written the usual way: the runtime decoding the event into
	// events.APIGatewayV2HTTPRequest, and the SendMessage (as the worker's baseline).
	decodeAndSendAll := func() {
		for i, p := range payloads {
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(p, &req); err != nil {
				b.Fatal(err)
			}
			if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(benchQueue), MessageBody: aws.String(bodies[i])}); err != nil {
				b.Fatal(err)
			}
		}
	}
	wall, cpu := benchpair.AlternateCPU(b, invokeAll, sendAll, decodeAndSendAll)
	n := float64(len(payloads))
	b.ReportMetric(wall[0]/n, "invoke-µs")
	b.ReportMetric(wall[1]/n, "sdk-µs")
	b.ReportMetric(cpu[0]/n, "invoke-cpu-µs")
	b.ReportMetric(cpu[1]/n, "sdk-cpu-µs")
	b.ReportMetric(cpu[2]/n, "baseline-cpu-µs")
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
