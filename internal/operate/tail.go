package operate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Tags on tail's temporary queue and rule, so one left behind (a killed tail, a lost
// network) can be found and removed: ExpiresTag holds an RFC 3339 time after which
// it is safe to delete.
const (
	TailTag    = "peerbridge:tail"
	ExpiresTag = "peerbridge:expires"
)

// TailExpiry is how long the temporary resources are meant to live; the queue also
// keeps messages no longer than this.
const TailExpiry = 12 * time.Hour

// Tap is tail's temporary rule and queue on the bus.
type Tap struct {
	SQS      *sqs.Client
	EB       *eventbridge.Client
	Bus      string
	Rule     string // rule name (TailRulePrefix + random)
	QueueURL string
}

// OpenTap creates a queue and a rule sending the bus's events that match pattern to it.
// Whatever it created before failing is removed again. Close the Tap to remove both.
func OpenTap(ctx context.Context, sq *sqs.Client, eb *eventbridge.Client, bus, stack, pattern string, now time.Time) (t *Tap, err error) {
	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := TailRulePrefix + hex.EncodeToString(suffix)
	t = &Tap{SQS: sq, EB: eb, Bus: bus, Rule: name}
	defer func() {
		if err != nil {
			t.Close(ctx)
			t = nil
		}
	}()
	expires := now.Add(TailExpiry).UTC().Format(time.RFC3339)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name),
		Attributes: map[string]string{"MessageRetentionPeriod": fmt.Sprint(int(TailExpiry / time.Second))},
		Tags:       map[string]string{TailTag: stack, ExpiresTag: expires}})
	if err != nil {
		return t, Explain(err, "sqs:CreateQueue")
	}
	t.QueueURL = aws.ToString(q.QueueUrl)
	attrs, err := queueAttributes(ctx, sq, t.QueueURL, sqstypes.QueueAttributeNameQueueArn)
	if err != nil {
		return t, err
	}
	queueArn := attrs["QueueArn"]
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus),
		EventPattern: aws.String(pattern), Description: aws.String("peerbridge tail: removed when tail exits; safe to delete after " + expires),
		Tags: []ebtypes.Tag{{Key: aws.String(TailTag), Value: aws.String(stack)}, {Key: aws.String(ExpiresTag), Value: aws.String(expires)}}})
	if err != nil {
		return t, Explain(err, "events:PutRule")
	}
	policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]string{"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
		"Resource": queueArn, "Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": aws.ToString(rule.RuleArn)}}}}})
	if _, err := sq.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(t.QueueURL),
		Attributes: map[string]string{"Policy": string(policy)}}); err != nil {
		return t, Explain(err, "sqs:SetQueueAttributes")
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("tail"), Arn: aws.String(queueArn)}}}); err != nil {
		return t, Explain(err, "events:PutTargets")
	}
	return t, nil
}

// Next waits up to 10 s for events and returns them with their receipt handles; each is
// an EventBridge event's JSON.
func (t *Tap) Next(ctx context.Context) ([]sqstypes.Message, error) {
	out, err := t.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(t.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 10})
	if err != nil {
		return nil, Explain(err, "sqs:ReceiveMessage")
	}
	return out.Messages, nil
}

// Done deletes a shown event from the tap's queue.
func (t *Tap) Done(ctx context.Context, m sqstypes.Message) error {
	_, err := t.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(t.QueueURL), ReceiptHandle: m.ReceiptHandle})
	return Explain(err, "sqs:DeleteMessage")
}

// Close removes the rule (its target first) and the queue, even when ctx is cancelled:
// it runs on Ctrl-C.
func (t *Tap) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var errs []error
	if _, err := t.EB.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(t.Rule), EventBusName: aws.String(t.Bus), Ids: []string{"tail"}}); err != nil && !notFound(err) {
		errs = append(errs, Explain(err, "events:RemoveTargets"))
	}
	if _, err := t.EB.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(t.Rule), EventBusName: aws.String(t.Bus)}); err != nil && !notFound(err) {
		errs = append(errs, Explain(err, "events:DeleteRule"))
	}
	if t.QueueURL != "" {
		if _, err := t.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(t.QueueURL)}); err != nil {
			errs = append(errs, Explain(err, "sqs:DeleteQueue"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove tail's rule %s and queue %s: %w", t.Rule, t.QueueURL, err)
	}
	return nil
}

func notFound(err error) bool {
	var nf *ebtypes.ResourceNotFoundException
	return errors.As(err, &nf)
}

// TailPattern is the rule's pattern: the given one, else the detail-types, else every
// event of the source.
func TailPattern(pattern string, detailTypes []string, source string) (string, error) {
	if pattern != "" {
		var v map[string]any
		if err := json.Unmarshal([]byte(pattern), &v); err != nil {
			return "", fmt.Errorf("--pattern is not a JSON object: %w", err)
		}
		return pattern, nil
	}
	p := map[string]any{"source": []string{source}}
	if len(detailTypes) > 0 {
		p["detail-type"] = detailTypes
	}
	b, _ := json.Marshal(p)
	return string(b), nil
}

// RemoveExpiredTaps removes the rules on bus and the queues of stack that tail created
// and whose ExpiresTag time has passed at now: those of a tail that was killed, or lost
// its network, before it could remove them. A rule left there keeps copying every
// matching event, with its personal data, into its queue. Rules and queues without the
// tag, or not yet expired (another tail may be running), are left. It returns the names
// of what it removed.
func RemoveExpiredTaps(ctx context.Context, sq *sqs.Client, eb *eventbridge.Client, bus, stack string, now time.Time) ([]string, error) {
	expired := func(tags map[string]string) bool {
		at, err := time.Parse(time.RFC3339, tags[ExpiresTag])
		return err == nil && now.After(at)
	}
	var removed []string
	var errs []error
	taps := map[string]*Tap{} // by name: a rule and its queue share it
	rulesIn := &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NamePrefix: aws.String(TailRulePrefix)}
	for {
		out, err := eb.ListRules(ctx, rulesIn)
		if err != nil {
			return nil, Explain(err, "events:ListRules")
		}
		for _, r := range out.Rules {
			tags, err := eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: r.Arn})
			if err != nil {
				errs = append(errs, Explain(err, "events:ListTagsForResource"))
				continue
			}
			m := map[string]string{}
			for _, tg := range tags.Tags {
				m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			if expired(m) {
				taps[aws.ToString(r.Name)] = &Tap{SQS: sq, EB: eb, Bus: bus, Rule: aws.ToString(r.Name)}
			}
		}
		if out.NextToken == nil {
			break
		}
		rulesIn.NextToken = out.NextToken
	}
	queuesIn := &sqs.ListQueuesInput{QueueNamePrefix: aws.String(TailRulePrefix)}
	for {
		out, err := sq.ListQueues(ctx, queuesIn)
		if err != nil {
			return nil, Explain(err, "sqs:ListQueues")
		}
		for _, u := range out.QueueUrls {
			tags, err := sq.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(u)})
			if err != nil {
				errs = append(errs, Explain(err, "sqs:ListQueueTags"))
				continue
			}
			if tags.Tags[TailTag] != stack || !expired(tags.Tags) {
				continue
			}
			name := u[strings.LastIndexByte(u, '/')+1:]
			if t := taps[name]; t != nil {
				t.QueueURL = u
			} else {
				taps[name] = &Tap{SQS: sq, EB: eb, Bus: bus, Rule: name, QueueURL: u}
			}
		}
		if out.NextToken == nil {
			break
		}
		queuesIn.NextToken = out.NextToken
	}
	for _, name := range slices.Sorted(maps.Keys(taps)) {
		if err := taps[name].Close(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// Follow receives the tap's events until ctx ends, hands each event's JSON (as the bus
// delivered it to the queue) to handle, and deletes it from the queue once handle has
// returned. A failed delete is only reported to onDeleteErr (the event may come again).
// A failed receive is handed to retry with the number of receives failed in a row (any
// receive that works resets it): retry waits as it sees fit and says whether to go on;
// with a nil retry, or when it says no, Follow returns the error. It returns nil when ctx
// ends. The caller still closes the tap.
func (t *Tap) Follow(ctx context.Context, handle func(body string), onDeleteErr func(error), retry func(err error, failures int) bool) error {
	failures := 0
	for ctx.Err() == nil {
		msgs, err := t.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			if retry == nil || !retry(err, failures) {
				return err
			}
			continue
		}
		failures = 0
		for _, m := range msgs {
			handle(aws.ToString(m.Body))
			if err := t.Done(context.WithoutCancel(ctx), m); err != nil && onDeleteErr != nil {
				onDeleteErr(err)
			}
		}
	}
	return nil
}
