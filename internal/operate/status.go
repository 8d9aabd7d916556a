package operate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/peerbridge/peerbridge/internal/metrics"
)

// Status is what `peerbridge status` shows of a stack.
type Status struct {
	Stack       string        `json:"stack"`
	StackStatus string        `json:"stackStatus"`
	WebhookURL  string        `json:"webhookUrl"` // with <token> in place of the token
	Queue       QueueStatus   `json:"queue"`
	DLQs        []QueueStatus `json:"deadLetterQueues"`
	Alarms      []Alarm       `json:"alarms"`
	// LastHour sums each of the stack's metrics (internal/metrics) over the last hour;
	// a metric with no data is absent.
	LastHour map[string]float64 `json:"lastHour"`
	// CountsSince, when set, is where the counts start instead of an hour ago: serve's
	// (peerbridge status --local), which counts since it started and has no alarms.
	CountsSince time.Time `json:"countsSince,omitzero"`
}

// QueueStatus is one queue's depth.
type QueueStatus struct {
	Name     string `json:"name"`
	Visible  int    `json:"visible"`
	InFlight int    `json:"inFlight"`
	// OldestAge is the age of the oldest message from SQS's CloudWatch metric (updated
	// every minute); nil when CloudWatch has no data point.
	OldestAge *time.Duration `json:"oldestAgeSeconds,omitempty"`
}

// Alarm is one of the stack's CloudWatch alarms.
type Alarm struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// ReadStatus gathers the stack's status: SQS attributes, CloudWatch alarms (named after
// the stack, as CloudFormation names them) and the last hour's metric sums.
func ReadStatus(ctx context.Context, cfg aws.Config, s Stack, now time.Time) (Status, error) {
	st, err := ReadQueues(ctx, cfg, s)
	if err != nil {
		return st, err
	}
	cw, err := ReadCloudWatch(ctx, cfg, s, now)
	if err != nil {
		return st, err
	}
	cw.Queue.Visible, cw.Queue.InFlight, cw.DLQs = st.Queue.Visible, st.Queue.InFlight, st.DLQs
	return cw, nil
}

// ReadQueues is the part of the status SQS answers (sqs:GetQueueAttributes, a request per
// queue): the stack, its webhook URL and its queues' depths; no alarms, no metrics, no
// oldest age.
func ReadQueues(ctx context.Context, cfg aws.Config, s Stack) (Status, error) {
	st := Status{Stack: s.Name, StackStatus: s.Status, WebhookURL: s.Outputs[OutputWebhookURL], LastHour: map[string]float64{}}
	sq := sqs.NewFromConfig(cfg)
	queues := []struct{ name, output string }{{"webhooks", OutputWebhookQueueURL}, {"webhooks DLQ", OutputWebhookDLQURL}, {"events DLQ", OutputEventDLQURL}}
	for i, q := range queues {
		url, err := s.Output(q.output)
		if err != nil {
			return st, err
		}
		visible, inFlight, err := DLQ{SQS: sq, URL: url}.Count(ctx)
		if err != nil {
			return st, err
		}
		qs := QueueStatus{Name: q.name, Visible: visible, InFlight: inFlight}
		if i == 0 {
			st.Queue = qs
		} else {
			st.DLQs = append(st.DLQs, qs)
		}
	}
	return st, nil
}

// ReadCloudWatch is the part of the status CloudWatch answers: the webhook queue's oldest
// age, the stack's alarms and the last hour's sums. GetMetricData is billed per metric
// read (11 here), so a reader that polls reads this less often than the queues. The
// queues' depths it leaves at zero (their names set).
func ReadCloudWatch(ctx context.Context, cfg aws.Config, s Stack, now time.Time) (Status, error) {
	st := Status{Stack: s.Name, StackStatus: s.Status, WebhookURL: s.Outputs[OutputWebhookURL], LastHour: map[string]float64{},
		Queue: QueueStatus{Name: "webhooks"}, DLQs: []QueueStatus{{Name: "webhooks DLQ"}, {Name: "events DLQ"}}}
	cw := CloudWatch(cfg)
	age, err := oldestAge(ctx, cw, s.Outputs[OutputWebhookQueueURL], now)
	if err != nil {
		return st, err
	}
	st.Queue.OldestAge = age

	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(s.Name + "-")})
	if err != nil {
		return st, Explain(err, "cloudwatch:DescribeAlarms")
	}
	for _, a := range alarms.MetricAlarms {
		st.Alarms = append(st.Alarms, Alarm{Name: strings.TrimPrefix(aws.ToString(a.AlarmName), s.Name+"-"), State: string(a.StateValue), Reason: aws.ToString(a.StateReason)})
	}

	sums, err := lastHourSums(ctx, cw, metrics.Namespace(s.Name), lastPart(s.Outputs[OutputWebhookQueueURL], "/"), now)
	if err != nil {
		return st, err
	}
	st.LastHour = sums
	return st, nil
}

func oldestAge(ctx context.Context, cw *cloudwatch.Client, queueURL string, now time.Time) (*time.Duration, error) {
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-15 * time.Minute)), EndTime: aws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("age"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateAgeOfOldestMessage"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(lastPart(queueURL, "/"))}}},
			Period: aws.Int32(60), Stat: aws.String("Maximum")}}},
		ScanBy: cwtypes.ScanByTimestampDescending,
	})
	if err != nil {
		return nil, Explain(err, "cloudwatch:GetMetricData")
	}
	for _, r := range out.MetricDataResults {
		if len(r.Values) > 0 {
			d := time.Duration(r.Values[0]) * time.Second
			return &d, nil
		}
	}
	return nil, nil
}

// sqsSent labels the query of the webhook queue's NumberOfMessagesSent.
const sqsSent = "sqs:NumberOfMessagesSent"

// lastHourSums sums every metric of the namespace over the last hour, one query per
// metric name with no dimensions (internal/metrics emits each count undimensioned too).
// At the basic metrics level the functions do not write WebhooksAccepted: it is then
// what SQS counts for free, the messages sent to the webhook queue (ingest sends one per
// webhook accepted; a redrive of dead letters sends more).
func lastHourSums(ctx context.Context, cw *cloudwatch.Client, namespace, queueName string, now time.Time) (map[string]float64, error) {
	var queries []cwtypes.MetricDataQuery
	for i, name := range metrics.Names {
		queries = append(queries, cwtypes.MetricDataQuery{Id: aws.String(fmt.Sprintf("m%d", i)), Label: aws.String(name),
			MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String(namespace), MetricName: aws.String(name)},
				Period: aws.Int32(3600), Stat: aws.String("Sum")}})
	}
	if queueName != "" {
		queries = append(queries, cwtypes.MetricDataQuery{Id: aws.String("sent"), Label: aws.String(sqsSent),
			MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SQS"), MetricName: aws.String("NumberOfMessagesSent"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queueName)}}},
				Period: aws.Int32(3600), Stat: aws.String("Sum")}})
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), MetricDataQueries: queries})
	if err != nil {
		return nil, Explain(err, "cloudwatch:GetMetricData")
	}
	sums := map[string]float64{}
	for _, r := range out.MetricDataResults {
		if len(r.Values) == 0 {
			continue
		}
		var sum float64
		for _, v := range r.Values {
			sum += v
		}
		sums[aws.ToString(r.Label)] = sum
	}
	if sent, ok := sums[sqsSent]; ok {
		if _, emitted := sums[metrics.WebhooksAccepted]; !emitted {
			sums[metrics.WebhooksAccepted] = sent
		}
		delete(sums, sqsSent)
	}
	return sums, nil
}

// CloudWatch is the CloudWatch client. Against a stand-in endpoint (AWS_ENDPOINT_URL)
// it speaks the query protocol, which CloudWatch still accepts: the SDK's default,
// Smithy RPC v2 CBOR, is newer than moto 5.2.1, which answers it 404.
func CloudWatch(cfg aws.Config) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if cfg.BaseEndpoint != nil {
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	})
}
