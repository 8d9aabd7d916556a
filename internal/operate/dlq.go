package operate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Queue kinds, as --queue names them.
const (
	Webhooks = "webhooks" // WebhookDLQ: deliveries the worker failed on
	Events   = "events"   // EventDeliveryDLQ: events a rule or an action failed on
)

// DeadLetter is one message of a dead-letter queue, as the dlq commands show it.
type DeadLetter struct {
	MessageID    string    `json:"messageId"`
	SentAt       time.Time `json:"sentAt"`       // when the message first entered a queue
	ReceiveCount int       `json:"receiveCount"` // SQS's count, listings included
	// A webhook delivery (the webhooks queue).
	DeliveryID string    `json:"deliveryId,omitempty"`
	ReceivedAt time.Time `json:"receivedAt,omitzero"` // when ingest accepted the webhook
	// An event (the events queue): the event, the rule and target that failed, the error.
	EventID    string `json:"eventId,omitempty"`
	DetailType string `json:"detailType,omitempty"`
	Rule       string `json:"rule,omitempty"`
	Target     string `json:"target,omitempty"`
	// Reason is why it failed: the worker's last logged error for a delivery, EventBridge's
	// or the action's error for an event.
	Reason string `json:"reason,omitempty"`
	Body   string `json:"body,omitempty"` // only for show
}

// DLQ is one dead-letter queue of the stack.
type DLQ struct {
	SQS  *sqs.Client
	URL  string
	Kind string // Webhooks or Events
	// Logs and WorkerLogGroup find why a delivery failed (the webhooks queue): the worker
	// logs each failure with the SQS message id, which SQS keeps when it dead-letters it.
	Logs           *cloudwatchlogs.Client
	WorkerLogGroup string
	// Visibility is how long a listing or a redrive hides the messages it holds; a
	// listing makes them visible again when it ends. 0: 60 s.
	Visibility time.Duration
}

func (d DLQ) visibility() int32 {
	if d.Visibility <= 0 {
		return 60
	}
	return int32(max(1, d.Visibility/time.Second))
}

// Count is the queue's approximate number of visible and in-flight messages.
func (d DLQ) Count(ctx context.Context) (visible, inFlight int, err error) {
	attrs, err := queueAttributes(ctx, d.SQS, d.URL, sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	if err != nil {
		return 0, 0, err
	}
	visible, _ = strconv.Atoi(attrs["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(attrs["ApproximateNumberOfMessagesNotVisible"])
	return visible, inFlight, nil
}

func queueAttributes(ctx context.Context, c *sqs.Client, url string, names ...sqstypes.QueueAttributeName) (map[string]string, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		return nil, Explain(err, "sqs:GetQueueAttributes")
	}
	return out.Attributes, nil
}

// receive takes up to 10 visible messages with their attributes, waiting up to a second
// (long polling asks every SQS server, so an empty answer means an empty queue).
func (d DLQ) receive(ctx context.Context) ([]sqstypes.Message, error) {
	out, err := d.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(d.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: d.visibility(),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, Explain(err, "sqs:ReceiveMessage")
	}
	return out.Messages, nil
}

// release makes held messages visible again, even when ctx is cancelled (a Ctrl-C must
// not leave them hidden).
func (d DLQ) release(ctx context.Context, msgs []sqstypes.Message) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, m := range msgs {
		if _, err := d.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(d.URL),
			ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			errs = append(errs, Explain(err, "sqs:ChangeMessageVisibility"))
		}
	}
	return errors.Join(errs...)
}

// List reads up to limit messages (0: all) without removing them: it receives them, reads
// why each failed, and makes them visible again. withBody keeps each message's body.
func (d DLQ) List(ctx context.Context, limit int, withBody bool) ([]DeadLetter, error) {
	var held []sqstypes.Message
	var err error
	for limit <= 0 || len(held) < limit {
		var msgs []sqstypes.Message
		if msgs, err = d.receive(ctx); err != nil || len(msgs) == 0 {
			break
		}
		held = append(held, msgs...)
	}
	releaseErr := d.release(ctx, held)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(held) > limit {
		held = held[:limit]
	}
	letters := make([]DeadLetter, len(held))
	for i, m := range held {
		letters[i] = d.describe(m, withBody)
	}
	if d.Kind == Webhooks {
		d.addWorkerErrors(ctx, letters)
	}
	slices.SortFunc(letters, func(a, b DeadLetter) int { return a.SentAt.Compare(b.SentAt) })
	return letters, releaseErr
}

// Show is the message with the given SQS message id or delivery id.
func (d DLQ) Show(ctx context.Context, id string) (DeadLetter, error) {
	all, err := d.List(ctx, 0, true)
	if err != nil {
		return DeadLetter{}, err
	}
	for _, l := range all {
		if l.MessageID == id || l.DeliveryID == id || l.EventID == id {
			return l, nil
		}
	}
	return DeadLetter{}, fmt.Errorf("no message %q in the %s dead-letter queue (%d messages there)", id, d.Kind, len(all))
}

func (d DLQ) describe(m sqstypes.Message, withBody bool) DeadLetter {
	l := DeadLetter{MessageID: aws.ToString(m.MessageId)}
	l.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
		l.SentAt = time.UnixMilli(ms).UTC()
	}
	body := aws.ToString(m.Body)
	if withBody {
		l.Body = body
	}
	if d.Kind == Webhooks {
		var env struct {
			ID         string    `json:"id"`
			ReceivedAt time.Time `json:"receivedAt"`
		}
		if json.Unmarshal([]byte(body), &env) == nil {
			l.DeliveryID, l.ReceivedAt = env.ID, env.ReceivedAt
		} else {
			l.Reason = "not a delivery envelope (the worker cannot read it)"
		}
		return l
	}
	describeEvent(&l, body, m.MessageAttributes)
	return l
}

// describeEvent reads the two shapes the events queue holds: an event a rule could not
// deliver (the event as the body; RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE as
// message attributes), and an action's failed asynchronous invocation (Lambda's
// on-failure record: requestPayload is the event, responsePayload the function's error).
func describeEvent(l *DeadLetter, body string, attrs map[string]sqstypes.MessageAttributeValue) {
	type event struct {
		ID         string `json:"id"`
		DetailType string `json:"detail-type"`
	}
	var rec struct {
		event
		RequestContext *struct {
			FunctionArn string `json:"functionArn"`
			Condition   string `json:"condition"`
		} `json:"requestContext"`
		RequestPayload  *event `json:"requestPayload"`
		ResponsePayload *struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		} `json:"responsePayload"`
	}
	if json.Unmarshal([]byte(body), &rec) != nil {
		l.Reason = "not JSON"
		return
	}
	attr := func(k string) string { return aws.ToString(attrs[k].StringValue) }
	if rec.RequestContext != nil && rec.RequestPayload != nil {
		l.EventID, l.DetailType = rec.RequestPayload.ID, rec.RequestPayload.DetailType
		l.Target = functionName(rec.RequestContext.FunctionArn)
		l.Reason = rec.RequestContext.Condition
		if p := rec.ResponsePayload; p != nil && p.ErrorMessage != "" {
			l.Reason = strings.TrimSpace(p.ErrorType + ": " + p.ErrorMessage)
		}
		return
	}
	l.EventID, l.DetailType = rec.ID, rec.DetailType
	l.Rule, l.Target = lastPart(attr("RULE_ARN"), "/"), lastPart(attr("TARGET_ARN"), ":")
	l.Reason = strings.TrimSpace(strings.Trim(attr("ERROR_CODE")+": "+attr("ERROR_MESSAGE"), ": "))
	if c := attr("EXHAUSTED_RETRY_CONDITION"); c != "" {
		l.Reason += " (" + c + ")"
	}
}

// functionName is the name in a Lambda function ARN, without its qualifier
// (arn:aws:lambda:region:account:function:NAME[:QUALIFIER]).
func functionName(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) >= 7 {
		return parts[6]
	}
	return arn
}

func lastPart(s, sep string) string { return s[strings.LastIndex(s, sep)+1:] }

// addWorkerErrors fills each delivery's Reason with the last error the worker logged for
// its message id, from the worker's log group (logs:FilterLogEvents). What it cannot read
// it says in the Reason rather than failing the listing.
func (d DLQ) addWorkerErrors(ctx context.Context, letters []DeadLetter) {
	if d.Logs == nil {
		return
	}
	for i := range letters {
		if letters[i].Reason != "" {
			continue
		}
		reason, err := lastWorkerError(ctx, d.Logs, d.WorkerLogGroup, letters[i].MessageID, letters[i].SentAt)
		switch {
		case err != nil:
			letters[i].Reason = "(" + err.Error() + ")"
		case reason == "":
			letters[i].Reason = "(no worker error logged for this message)"
		default:
			letters[i].Reason = reason
		}
	}
}

func lastWorkerError(ctx context.Context, logs *cloudwatchlogs.Client, group, messageID string, since time.Time) (string, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`"` + messageID + `"`)}
	if !since.IsZero() {
		in.StartTime = aws.Int64(since.Add(-time.Minute).UnixMilli())
	}
	var last string
	p := cloudwatchlogs.NewFilterLogEventsPaginator(logs, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var api smithy.APIError
			if errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException" {
				return "", fmt.Errorf("no log group %s", group)
			}
			return "", Explain(err, "logs:FilterLogEvents")
		}
		for _, e := range page.Events {
			var line struct {
				MessageID string `json:"messageId"`
				Error     string `json:"error"`
			}
			if json.Unmarshal([]byte(aws.ToString(e.Message)), &line) == nil && line.MessageID == messageID && line.Error != "" {
				last = line.Error
			}
		}
	}
	return last, nil
}

// Purge deletes every message of the queue (sqs:PurgeQueue).
func (d DLQ) Purge(ctx context.Context) error {
	_, err := d.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(d.URL)})
	return Explain(err, "sqs:PurgeQueue")
}

// journal records, on disk, the DLQ messages a redrive has sent back but may not yet have
// deleted: a redrive killed between the send and the delete finds the message in the
// journal when it runs again and deletes it without sending it twice.
type journal struct {
	path string
	sent map[string]bool
}

func openJournal(path string) (*journal, error) {
	j := &journal{path: path, sent: map[string]bool{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			j.sent[id] = true
		}
	}
	return j, sc.Err()
}

// add records id durably (written and synced) before the caller goes on to delete.
func (j *journal) add(id string) error {
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, id); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	j.sent[id] = true
	return f.Close()
}

// DefaultJournal is where a redrive of the queue at dlqURL keeps its journal.
func DefaultJournal(dlqURL string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, dlqURL)
	return filepath.Join(dir, "peerbridge", "redrive", name+".journal")
}

// Redrive is how a redrive moves messages.
type Redrive struct {
	To      string   // the queue URL the messages go back to
	IDs     []string // only these message or delivery ids; empty: all
	Journal string   // DefaultJournal(dlq URL) when empty
	// Progress is told after each message moved (or the move task's progress).
	Progress func(moved int)
	// afterSend runs between a message's send and its delete: tests interrupt there.
	afterSend func()
}

// ErrMoveTaskUnavailable says the queue's SQS could not start a move task; the caller
// falls back to moving one message at a time.
var ErrMoveTaskUnavailable = errors.New("SQS message move task unavailable")

// MoveTask moves every message back to its source queue with SQS's own redrive
// (sqs:StartMessageMoveTask), and follows it to the end.
func (d DLQ) MoveTask(ctx context.Context, progress func(moved, total int)) (int, error) {
	return d.moveTask(ctx, progress, 2*time.Second)
}

func (d DLQ) moveTask(ctx context.Context, progress func(moved, total int), interval time.Duration) (int, error) {
	attrs, err := queueAttributes(ctx, d.SQS, d.URL, sqstypes.QueueAttributeNameQueueArn)
	if err != nil {
		return 0, err
	}
	arn := attrs["QueueArn"]
	// One attempt: an SQS that cannot do it (moto answers 500) must not be retried for
	// seconds before the fallback.
	start, err := d.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(arn)},
		func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMoveTaskUnavailable, Explain(err, "sqs:StartMessageMoveTask"))
	}
	for {
		tasks, err := d.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn), MaxResults: aws.Int32(1)})
		if err != nil {
			return 0, Explain(err, "sqs:ListMessageMoveTasks")
		}
		for _, t := range tasks.Results {
			if aws.ToString(t.TaskHandle) != aws.ToString(start.TaskHandle) {
				continue
			}
			moved := int(t.ApproximateNumberOfMessagesMoved)
			if progress != nil {
				progress(moved, int(aws.ToInt64(t.ApproximateNumberOfMessagesToMove)))
			}
			switch aws.ToString(t.Status) {
			case "COMPLETED":
				return moved, nil
			case "FAILED", "CANCELLED":
				return moved, fmt.Errorf("SQS move task %s: %s", aws.ToString(t.Status), aws.ToString(t.FailureReason))
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("stopped following the move task (it goes on in SQS): %w", ctx.Err())
		case <-time.After(interval):
		}
	}
}

// MoveOneByOne moves messages back one at a time: receive, send to r.To, record in the
// journal, delete. A message is deleted only after its copy is stored, so none is lost;
// one the journal says was sent is deleted without a second send, so a redrive killed
// half-way and run again sends none twice. A cancelled ctx stops it between messages,
// never between a send and its delete. It returns how many it moved and how many it
// could not finish because an interrupted run still hides them (run again later).
func (d DLQ) MoveOneByOne(ctx context.Context, r Redrive) (moved, hidden int, err error) {
	path := r.Journal
	if path == "" {
		path = DefaultJournal(d.URL)
	}
	j, err := openJournal(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read the redrive journal %s: %w", path, err)
	}
	var skipped []sqstypes.Message
	seen := map[string]bool{}
	defer func() {
		if relErr := d.release(ctx, skipped); err == nil {
			err = relErr
		}
	}()
	for ctx.Err() == nil {
		msgs, err := d.receive(ctx)
		if err != nil {
			return moved, 0, err
		}
		if len(msgs) == 0 {
			// Messages an interrupted run hid may have become visible meanwhile.
			if visible, _, err := d.Count(ctx); err != nil || visible == 0 {
				if err != nil {
					return moved, 0, err
				}
				break
			}
			continue
		}
		// A message left alone comes back once its visibility ends: seen again, the pass is over.
		if !slices.ContainsFunc(msgs, func(m sqstypes.Message) bool { return !seen[aws.ToString(m.MessageId)] }) {
			skipped = append(skipped, msgs...)
			break
		}
		for i, m := range msgs {
			seen[aws.ToString(m.MessageId)] = true
			if ctx.Err() != nil {
				skipped = append(skipped, msgs[i:]...)
				break
			}
			if !d.selected(m, r.IDs) {
				skipped = append(skipped, m)
				continue
			}
			if err := d.moveOne(context.WithoutCancel(ctx), m, r, j); err != nil {
				skipped = append(skipped, msgs[i+1:]...)
				return moved, 0, err
			}
			moved++
			if r.Progress != nil {
				r.Progress(moved)
			}
		}
	}
	if ctx.Err() != nil {
		return moved, 0, ctx.Err()
	}
	_, inFlight, err := d.Count(ctx)
	if err != nil {
		return moved, 0, err
	}
	// Messages still hidden by someone (an interrupted run) may be in the journal: keep it.
	if inFlight-len(skipped) <= 0 {
		os.Remove(path)
	}
	return moved, max(0, inFlight-len(skipped)), nil
}

func (d DLQ) moveOne(ctx context.Context, m sqstypes.Message, r Redrive, j *journal) error {
	id := aws.ToString(m.MessageId)
	if !j.sent[id] {
		if _, err := d.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(r.To), MessageBody: m.Body}); err != nil {
			return Explain(err, "sqs:SendMessage")
		}
		if err := j.add(id); err != nil {
			return fmt.Errorf("message %s is back in its queue but the redrive journal could not record it (%w): delete it from the dead-letter queue by hand", id, err)
		}
	}
	if r.afterSend != nil {
		r.afterSend()
	}
	if _, err := d.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(d.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return Explain(err, "sqs:DeleteMessage")
	}
	return nil
}

func (d DLQ) selected(m sqstypes.Message, ids []string) bool {
	if len(ids) == 0 {
		return true
	}
	if slices.Contains(ids, aws.ToString(m.MessageId)) {
		return true
	}
	l := d.describe(m, false)
	return l.DeliveryID != "" && slices.Contains(ids, l.DeliveryID)
}
