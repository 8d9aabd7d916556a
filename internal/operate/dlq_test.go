package operate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// deadLetter sends n deliveries to the webhook queue and has SQS dead-letter them as the
// worker's failures would (the test stack's maxReceiveCount is 1: a second receive moves
// a message to the DLQ). It returns the delivery ids and the SQS message ids.
func deadLetter(t *testing.T, s Stack, n int) (deliveries, messageIDs []string) {
	t.Helper()
	ctx := context.Background()
	c := sqsClient(t)
	src := s.Outputs[OutputWebhookQueueURL]
	for i := range n {
		d := peerdom.NewDelivery("", time.Date(2026, 11, 30, 10, i, 0, 0, time.UTC), fmt.Sprintf("Alice created the role Role %d", i), peerdom.Sender{})
		body, err := peerdom.EncodeDelivery(d)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(src), MessageBody: aws.String(body)})
		if err != nil {
			t.Fatal(err)
		}
		deliveries, messageIDs = append(deliveries, d.ID), append(messageIDs, aws.ToString(out.MessageId))
	}
	for range 2 * n { // first receives, made visible at once as a failure; the second ones dead-letter
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(src), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(src), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v, _, err := (DLQ{SQS: c, URL: s.Outputs[OutputWebhookDLQURL]}).Count(ctx); err != nil || v != n {
		t.Fatalf("DLQ holds %d, want %d (%v)", v, n, err)
	}
	return deliveries, messageIDs
}

// logWorkerFailure writes the worker's line for a failed message, as internal/worker logs it.
func logWorkerFailure(t *testing.T, group, deliveryID, messageID, reason string) {
	t.Helper()
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(mototest.Config(t))
	logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}) // may exist
	logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")})
	line, _ := json.Marshal(map[string]any{"time": time.Now().Format(time.RFC3339), "level": "ERROR", "msg": "delivery",
		"id": deliveryID, "messageId": messageID, "outcome": "failed", "error": reason})
	if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"),
		LogEvents: []cwltypes.InputLogEvent{{Message: aws.String(string(line)), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
}

func webhookDLQ(t *testing.T, s Stack) DLQ {
	cfg := mototest.Config(t)
	return DLQ{SQS: sqs.NewFromConfig(cfg), URL: s.Outputs[OutputWebhookDLQURL], Kind: Webhooks,
		Logs: cloudwatchlogs.NewFromConfig(cfg), WorkerLogGroup: s.WorkerLogGroup(), Visibility: time.Second}
}

func TestDLQListAndShowWithTheWorkersError(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	deliveries, msgIDs := deadLetter(t, s, 3)
	logWorkerFailure(t, s.WorkerLogGroup(), deliveries[1], msgIDs[1], "eventbridge PutEvents: ThrottlingException")
	d := webhookDLQ(t, s)
	ctx := context.Background()
	list, err := d.List(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("listed %d: %+v", len(list), list)
	}
	for i, l := range list {
		if l.DeliveryID != deliveries[i] || l.MessageID != msgIDs[i] || l.ReceiveCount < 2 || l.SentAt.IsZero() ||
			!l.ReceivedAt.Equal(time.Date(2026, 11, 30, 10, i, 0, 0, time.UTC)) || l.Body != "" {
			t.Errorf("%d: %+v", i, l)
		}
	}
	if list[1].Reason != "eventbridge PutEvents: ThrottlingException" || list[0].Reason != "(no worker error logged for this message)" {
		t.Errorf("reasons %q, %q", list[0].Reason, list[1].Reason)
	}
	// Listing left every message there, visible.
	if v, inFlight, _ := d.Count(ctx); v != 3 || inFlight != 0 {
		t.Errorf("after list: %d visible, %d in flight", v, inFlight)
	}
	got, err := d.Show(ctx, deliveries[1])
	if err != nil || got.MessageID != msgIDs[1] || got.Body == "" {
		t.Errorf("show by delivery id: %+v, %v", got, err)
	}
	if _, err := d.Show(ctx, "nope"); err == nil {
		t.Error("show of an unknown id succeeded")
	}
}

func TestDLQPurge(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	deadLetter(t, s, 2)
	d := webhookDLQ(t, s)
	if err := d.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := d.Count(context.Background()); v != 0 {
		t.Errorf("%d left after purge", v)
	}
}

func TestMoveTaskFallsBackOnMoto(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	deadLetter(t, s, 1)
	_, err := webhookDLQ(t, s).MoveTask(context.Background(), nil)
	if !errorsIs(err, ErrMoveTaskUnavailable) {
		t.Fatalf("moto's StartMessageMoveTask: %v (moto 5.2.1 answers 500; if it now works, test the move task here)", err)
	}
}

// queueDeliveries receives every message of a queue and returns their delivery ids. It
// asks the queue how many it holds, visible or in flight (moto counts exactly), and
// receives that many, waiting for the ones in flight to come back (a redrive's receive
// hides a message for a second): waiting out a fixed time for messages that may still
// come cost every call its full wait.
func queueDeliveries(t *testing.T, url string) []string {
	t.Helper()
	visible, inFlight, err := DLQ{SQS: sqsClient(t), URL: url}.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	msgs := mototest.Receive(t, url, visible+inFlight, 30*time.Second)
	if len(msgs) != visible+inFlight {
		t.Fatalf("received %d of the %d messages in %s", len(msgs), visible+inFlight, url)
	}
	for _, m := range msgs {
		d, err := peerdom.DecodeDeliveryString(aws.ToString(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return ids
}

// checkEachOnce: every delivery is in exactly one of the two queues.
func checkEachOnce(t *testing.T, deliveries, inSource, inDLQ []string) {
	t.Helper()
	all := append(slices.Clone(inSource), inDLQ...)
	slices.Sort(all)
	want := slices.Sorted(slices.Values(deliveries))
	if !slices.Equal(all, want) {
		t.Errorf("deliveries in the queue %v and the DLQ %v; want each of %v exactly once", inSource, inDLQ, want)
	}
}

func TestRedriveStopsBetweenMessagesOnCancel(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	deliveries, _ := deadLetter(t, s, 5)
	d := webhookDLQ(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	sends := 0
	r := Redrive{To: s.Outputs[OutputWebhookQueueURL], Journal: filepath.Join(t.TempDir(), "j"),
		afterSend: func() {
			if sends++; sends == 2 {
				cancel() // Ctrl-C between a send and its delete
			}
		}}
	moved, _, err := d.MoveOneByOne(ctx, r)
	if moved != 2 || err == nil {
		t.Errorf("moved %d, err %v; want 2 and the cancellation", moved, err)
	}
	inSource, inDLQ := queueDeliveries(t, s.Outputs[OutputWebhookQueueURL]), queueDeliveries(t, d.URL)
	if len(inSource) != 2 {
		t.Errorf("%d back in the queue, want 2", len(inSource))
	}
	checkEachOnce(t, deliveries, inSource, inDLQ)
}

// TestRedriveKilledHalfWay kills a redrive (SIGKILL, in a child process) after its third
// send and before that message's delete, runs it again, and checks that every delivery
// ends in exactly one queue: the killed run's last message is not sent twice.
func TestRedriveKilledHalfWay(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	deliveries, _ := deadLetter(t, s, 6)
	d := webhookDLQ(t, s)
	journal := filepath.Join(t.TempDir(), "journal")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRedriveHelperProcess$")
	cmd.Env = append(os.Environ(), "REDRIVE_HELPER=1", "REDRIVE_DLQ="+d.URL, "REDRIVE_TO="+s.Outputs[OutputWebhookQueueURL],
		"REDRIVE_JOURNAL="+journal, "REDRIVE_KILL_AFTER=3", "MOTO_ENDPOINT="+mototest.Endpoint(t))
	out, err := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed: %v\n%s", err, out)
	}
	if v, inFlight, _ := d.Count(context.Background()); v+inFlight != 4 {
		t.Fatalf("after the kill the DLQ holds %d+%d, want 3 left and the killed one", v, inFlight)
	}
	total := 0
	for range 10 { // the killed run's message stays hidden for its visibility (1 s)
		moved, hidden, err := d.MoveOneByOne(context.Background(), Redrive{To: s.Outputs[OutputWebhookQueueURL], Journal: journal})
		if err != nil {
			t.Fatal(err)
		}
		total += moved
		v, fl, _ := d.Count(context.Background())
		t.Logf("re-run: moved %d hidden %d; visible %d in flight %d", moved, hidden, v, fl)
		if hidden == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := os.Stat(journal); !os.IsNotExist(err) {
		t.Errorf("journal left after a complete redrive: %v", err)
	}
	inSource, inDLQ := queueDeliveries(t, s.Outputs[OutputWebhookQueueURL]), queueDeliveries(t, d.URL)
	if len(inDLQ) != 0 || len(inSource) != 6 || total != 4 {
		t.Errorf("after the re-run: %d in the queue, %d in the DLQ, %d moved by the re-run", len(inSource), len(inDLQ), total)
	}
	checkEachOnce(t, deliveries, inSource, inDLQ)
}

// TestRedriveHelperProcess is the child TestRedriveKilledHalfWay kills.
func TestRedriveHelperProcess(t *testing.T) {
	if os.Getenv("REDRIVE_HELPER") != "1" {
		t.Skip("the child process of TestRedriveKilledHalfWay")
	}
	killAfter, _ := strconv.Atoi(os.Getenv("REDRIVE_KILL_AFTER"))
	// The parent's moto, not a server of its own.
	cfg := aws.Config{Region: mototest.Region, BaseEndpoint: aws.String(os.Getenv("MOTO_ENDPOINT")),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	d := DLQ{SQS: sqs.NewFromConfig(cfg), URL: os.Getenv("REDRIVE_DLQ"), Kind: Webhooks, Visibility: time.Second}
	sends := 0
	d.MoveOneByOne(context.Background(), Redrive{To: os.Getenv("REDRIVE_TO"), Journal: os.Getenv("REDRIVE_JOURNAL"),
		afterSend: func() {
			if sends++; sends == killAfter {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}})
	t.Fatal("not killed")
}

func TestRedriveByID(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	deliveries, msgIDs := deadLetter(t, s, 3)
	d := webhookDLQ(t, s)
	moved, _, err := d.MoveOneByOne(context.Background(), Redrive{To: s.Outputs[OutputWebhookQueueURL],
		IDs: []string{deliveries[0], msgIDs[2]}, Journal: filepath.Join(t.TempDir(), "j")})
	if err != nil || moved != 2 {
		t.Fatalf("moved %d, %v", moved, err)
	}
	inSource, inDLQ := queueDeliveries(t, s.Outputs[OutputWebhookQueueURL]), queueDeliveries(t, d.URL)
	if slices.Sort(inSource); !slices.Equal(inSource, slices.Sorted(slices.Values([]string{deliveries[0], deliveries[2]}))) || !slices.Equal(inDLQ, deliveries[1:2]) {
		t.Errorf("queue %v, DLQ %v", inSource, inDLQ)
	}
}

// TestEventDLQList reads the two shapes of the event DLQ: an event a rule could not
// deliver (EventBridge's message attributes) and an action's failed run (Lambda's
// on-failure record).
func TestEventDLQList(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	c := sqsClient(t)
	url := s.Outputs[OutputEventDLQURL]
	ctx := context.Background()
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url),
		MessageBody: aws.String(`{"version":"0","id":"ev-1","detail-type":"Role Created","source":"peerdom","detail":{}}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"RULE_ARN":                  str("arn:aws:events:us-east-1:123456789012:rule/pb-events/pb-ChatRule-XYZ"),
			"TARGET_ARN":                str("arn:aws:events:us-east-1:123456789012:api-destination/chat/abc"),
			"ERROR_CODE":                str("SDK_CLIENT_ERROR"),
			"ERROR_MESSAGE":             str("Unable to invoke ApiDestination endpoint: 404"),
			"EXHAUSTED_RETRY_CONDITION": str("MaximumRetryAttempts"),
		}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the listing is in sent order
	record := `{"version":"1.0","timestamp":"2026-11-30T10:00:00.000Z","requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:pb-OnboardPeerFunction-ABC:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},` +
		`"requestPayload":{"id":"ev-2","detail-type":"Peer Created","source":"peerdom","detail":{}},"responseContext":{"statusCode":200,"functionError":"Unhandled"},` +
		`"responsePayload":{"errorMessage":"peerdom api: 403 Forbidden","errorType":"errorString"}}`
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(record)}); err != nil {
		t.Fatal(err)
	}
	list, err := DLQ{SQS: c, URL: url, Kind: Events, Visibility: time.Second}.List(ctx, 0, false)
	if err != nil || len(list) != 2 {
		t.Fatalf("%+v, %v", list, err)
	}
	want := []DeadLetter{
		{EventID: "ev-1", DetailType: "Role Created", Rule: "pb-ChatRule-XYZ", Target: "api-destination/chat/abc",
			Reason: "SDK_CLIENT_ERROR: Unable to invoke ApiDestination endpoint: 404 (MaximumRetryAttempts)"},
		{EventID: "ev-2", DetailType: "Peer Created", Target: "pb-OnboardPeerFunction-ABC", Reason: "errorString: peerdom api: 403 Forbidden"},
	}
	for i, l := range list {
		l.MessageID, l.SentAt, l.ReceiveCount = "", time.Time{}, 0
		if l != want[i] {
			t.Errorf("%d: %+v\nwant %+v", i, l, want[i])
		}
	}
}
