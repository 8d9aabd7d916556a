package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/operate/operatetest"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// operateStack deploys the test stack to moto, points the SDK's environment at moto (the
// command loads its configuration as on a user's machine), and puts n deliveries in the
// webhook DLQ. It returns the stack's name and outputs.
func operateStack(t *testing.T, n int) (string, map[string]string, []string) {
	t.Helper()
	name, outputs, ids, _ := operateStackMessages(t, n)
	return name, outputs, ids
}

// operateStackMessages is operateStack that also returns the SQS message id of each
// dead letter, as SendMessage answered it: a test that needs one need not receive the
// messages to learn it (and so cannot leave one hidden).
func operateStackMessages(t *testing.T, n int) (string, map[string]string, []string, []string) {
	t.Helper()
	mototest.SetEnv(t)
	name := operatetest.Deploy(t)
	st, err := operate.LookupStack(context.Background(), mototest.Config(t), name)
	if err != nil {
		t.Fatal(err)
	}
	c := sqs.NewFromConfig(mototest.Config(t))
	var ids, msgIDs []string
	for i := range n {
		d := peerdom.NewDelivery("", time.Date(2026, 11, 30, 9, i, 0, 0, time.UTC), "Alice created the role Scribe", peerdom.Sender{})
		body, _ := peerdom.EncodeDelivery(d)
		sent, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(st.Outputs[operate.OutputWebhookDLQURL]), MessageBody: aws.String(body)})
		if err != nil {
			t.Fatal(err)
		}
		ids, msgIDs = append(ids, d.ID), append(msgIDs, aws.ToString(sent.MessageId))
	}
	return name, st.Outputs, ids, msgIDs
}

func TestStatusCommand(t *testing.T) {
	name, _, _ := operateStack(t, 2)
	ctx := context.Background()
	cw := operate.CloudWatch(mototest.Config(t))
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name + "-WebhookDLQAlarm-ABC"),
		Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateNumberOfMessagesVisible"), Statistic: cwtypes.StatisticMaximum,
		Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name + "-WebhookDLQAlarm-ABC"),
		StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("2 messages")}); err != nil {
		t.Fatal(err)
	}
	// What CloudWatch extracts from the functions' EMF lines.
	for _, v := range []float64{5, 2} {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(metrics.Namespace(name)),
			MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(metrics.WebhooksAccepted), Value: aws.Float64(v), Timestamp: aws.Time(time.Now().Add(-time.Minute))}}}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "", "status", "--stack", name, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s operate.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Stack != name || len(s.Alarms) != 1 || s.Alarms[0].State != "ALARM" || s.LastHour[metrics.WebhooksAccepted] != 7 || len(s.DLQs) != 2 || s.DLQs[0].Visible != 2 || s.DLQs[1].Visible != 0 || s.Queue.Visible != 0 ||
		!strings.HasSuffix(s.WebhookURL, "/webhooks/<token>") {
		t.Errorf("status %+v", s)
	}
	code, out, errOut = runCLI(t, "", "status", "--stack", name)
	t.Logf("status:\n%s", out)
	if code != 0 || !regexp.MustCompile(`webhooks DLQ +2\n`).MatchString(out) || !regexp.MustCompile(`alarms +ALARM +WebhookDLQAlarm`).MatchString(out) ||
		!regexp.MustCompile(`WebhooksAccepted +7`).MatchString(out) {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
}

func TestOperateCommandsExplainFailures(t *testing.T) {
	mototest.SetEnv(t)
	code, _, errOut := runCLI(t, "", "status", "--stack", "not-deployed")
	if code != 1 || !strings.Contains(errOut, `no stack "not-deployed" in region us-east-1`) {
		t.Errorf("missing stack: exit %d, %s", code, errOut)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	code, _, errOut = runCLI(t, "", "dlq", "list", "--stack", "any")
	if code != 1 || !strings.Contains(errOut, "no AWS credentials found") {
		t.Errorf("no credentials: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "dlq", "redrive", "--stack", "any"); code != 2 || !strings.Contains(errOut, "--all") {
		t.Errorf("redrive without --all or --id: exit %d, %s", code, errOut)
	}
}

func TestDLQCommands(t *testing.T) {
	name, outputs, ids, msgIDs := operateStackMessages(t, 3)
	// The worker's line for the first delivery's failure, as internal/worker logs it.
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(mototest.Config(t))
	group := "/aws/lambda/" + name + "-worker"
	firstMsgID := msgIDs[0]
	logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")})
	line := `{"level":"ERROR","msg":"delivery","id":"` + ids[0] + `","messageId":"` + firstMsgID + `","outcome":"failed","error":"eventbridge PutEvents: AccessDeniedException: not authorized to perform events:PutEvents"}`
	if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"),
		LogEvents: []cwltypes.InputLogEvent{{Message: aws.String(line), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "dlq", "list", "--stack", name)
	t.Logf("dlq list:\n%s", out)
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, ids[0]) || !strings.Contains(out, "2026-11-30 09:00:00Z") ||
		!regexp.MustCompile(ids[0]+`  2026-11-30 09:00:00Z  \d+ +eventbridge PutEvents: AccessDeniedException`).MatchString(out) ||
		!strings.Contains(out, "(no worker error logged for this message)") {
		t.Errorf("list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "dlq", "show", "--stack", name, "--id", ids[1], "--json")
	var l operate.DeadLetter
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || l.DeliveryID != ids[1] || !strings.Contains(l.Body, "Scribe") {
		t.Errorf("show: exit %d %+v %s", code, l, errOut)
	}

	code, out, errOut = runCLI(t, "", "dlq", "redrive", "--stack", name, "--id", ids[2], "--json")
	if code != 0 || !strings.Contains(out, `"moved": 1`) {
		t.Errorf("redrive --id: exit %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "dlq", "redrive", "--stack", name, "--all")
	if code != 0 || !strings.Contains(out, "Moved 2 messages back") || !strings.Contains(errOut, "moved one message at a time") {
		t.Errorf("redrive --all: exit %d %s %s", code, out, errOut)
	}
	back := mototest.Receive(t, outputs[operate.OutputWebhookQueueURL], 4, 3*time.Second)
	if len(back) != 3 {
		t.Errorf("%d back in the webhook queue, want 3", len(back))
	}
}

func TestDLQPurgeAsks(t *testing.T) {
	name, outputs, _ := operateStack(t, 2)
	code, _, errOut := runCLI(t, "no\n", "dlq", "purge", "--stack", name)
	if code != 1 || !strings.Contains(errOut, "Delete all 2 messages") || !strings.Contains(errOut, "Nothing deleted") {
		t.Errorf("purge answered no: exit %d %s", code, errOut)
	}
	count := func() int {
		v, _, err := operate.DLQ{SQS: sqs.NewFromConfig(mototest.Config(t)), URL: outputs[operate.OutputWebhookDLQURL]}.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if n := count(); n != 2 {
		t.Fatalf("%d left after no", n)
	}
	if code, _, errOut := runCLI(t, "yes\n", "dlq", "purge", "--stack", name); code != 0 || count() != 0 {
		t.Errorf("purge answered yes: exit %d %s, %d left", code, errOut, count())
	}
}

func TestReplayCommand(t *testing.T) {
	name, _, _ := operateStack(t, 0)
	code, out, errOut := runCLI(t, "", "replay", "--stack", name, "--since", "2h", "--detail-type", "Peer Created")
	t.Logf("replay:\n%s%s", errOut, out)
	if code != 0 || !strings.Contains(errOut, "-OnboardPeerFunctionPeerCreated-ABC") || strings.Contains(errOut, "ChatRule") ||
		strings.Contains(errOut, "EnrichFunction") || !strings.Contains(out, "COMPLETED") {
		t.Errorf("exit %d\n%s%s", code, errOut, out)
	}
	if code, _, errOut := runCLI(t, "", "replay", "--stack", name); code != 2 || !strings.Contains(errOut, "--since: required") {
		t.Errorf("no --since: exit %d %s", code, errOut)
	}
}

// TestStatusAcceptedFromSQSAtBasicMetrics: at the basic metrics level ingest writes no
// WebhooksAccepted and the worker no EventsPublished; status shows what SQS counts
// instead, the messages sent to the webhook queue and deleted from it.
func TestStatusAcceptedFromSQSAtBasicMetrics(t *testing.T) {
	name, outputs, _ := operateStack(t, 0)
	ctx := context.Background()
	cw := operate.CloudWatch(mototest.Config(t))
	queue := outputs[operate.OutputWebhookQueueURL][strings.LastIndex(outputs[operate.OutputWebhookQueueURL], "/")+1:]
	for metric, values := range map[string][]float64{"NumberOfMessagesSent": {3, 4}, "NumberOfMessagesDeleted": {2, 3}} {
		for _, v := range values {
			if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/SQS"),
				MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(metric), Value: aws.Float64(v), Timestamp: aws.Time(time.Now().Add(-time.Minute)),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queue)}}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, errOut := runCLI(t, "", "status", "--stack", name, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s operate.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.LastHour[metrics.WebhooksAccepted] != 7 || s.LastHour[metrics.EventsPublished] != 5 || len(s.LastHour) != 2 {
		t.Errorf("last hour %v, want WebhooksAccepted 7 and EventsPublished 5 from SQS alone", s.LastHour)
	}
}
