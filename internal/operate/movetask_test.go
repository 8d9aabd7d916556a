package operate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestMoveTaskFollowsSQS drives MoveTask against a stub of SQS's JSON protocol (moto
// answers StartMessageMoveTask with 500): it starts the task on the DLQ's ARN and
// follows ListMessageMoveTasks to COMPLETED, telling the progress.
func TestMoveTaskFollowsSQS(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	lists := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, op+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch op {
		case "GetQueueAttributes":
			io.WriteString(w, `{"Attributes":{"QueueArn":"arn:aws:sqs:us-east-1:123456789012:dlq"}}`)
		case "StartMessageMoveTask":
			io.WriteString(w, `{"TaskHandle":"task-1"}`)
		case "ListMessageMoveTasks":
			lists++
			status, moved := "RUNNING", 2
			if lists > 1 {
				status, moved = "COMPLETED", 5
			}
			json.NewEncoder(w).Encode(map[string]any{"Results": []any{map[string]any{"TaskHandle": "task-1", "Status": status,
				"SourceArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "ApproximateNumberOfMessagesMoved": moved, "ApproximateNumberOfMessagesToMove": 5}}})
		default:
			w.WriteHeader(400)
		}
	}))
	defer srv.Close()
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	var progress []int
	moved, err := DLQ{SQS: c, URL: srv.URL + "/123456789012/dlq"}.moveTask(context.Background(), func(m, total int) { progress = append(progress, m, total) }, 0)
	if err != nil || moved != 5 {
		t.Fatalf("moved %d, %v\n%v", moved, err, calls)
	}
	if len(progress) != 4 || progress[0] != 2 || progress[2] != 5 || progress[3] != 5 {
		t.Errorf("progress %v", progress)
	}
	if len(calls) != 4 || !strings.Contains(calls[1], `StartMessageMoveTask {"SourceArn":"arn:aws:sqs:us-east-1:123456789012:dlq"}`) {
		t.Errorf("calls %v", calls)
	}
}
