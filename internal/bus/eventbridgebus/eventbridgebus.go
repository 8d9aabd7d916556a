// Package eventbridgebus puts bus entries on an Amazon EventBridge bus: bus.Putter implemented
// with aws-sdk-go-v2's PutEvents. It only translates; the limits and the splitting into
// calls are internal/bus's (bus.Publish).
package eventbridgebus

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/peerbridge/peerbridge/internal/bus"
)

// Client is the part of *eventbridge.Client that Bus uses.
type Client interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus is one EventBridge event bus.
type Bus struct {
	Client Client
	Name   string // bus name or ARN; empty means the account's default bus
}

// New returns the bus named name, reached through client.
func New(client Client, name string) Bus { return Bus{Client: client, Name: name} }

var _ bus.Putter = Bus{}

// PutEvents makes one PutEvents call. EventBridge answers failed entries inside a
// successful response; they come back as Results with an error code, in entry order.
func (b Bus) PutEvents(ctx context.Context, entries []bus.Entry) ([]bus.Result, error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(entries))}
	for i, e := range entries {
		re := types.PutEventsRequestEntry{
			Source:     aws.String(e.Source),
			DetailType: aws.String(e.DetailType),
			Detail:     aws.String(e.Detail),
			Resources:  e.Resources,
		}
		if b.Name != "" {
			re.EventBusName = aws.String(b.Name)
		}
		if !e.Time.IsZero() {
			re.Time = aws.Time(e.Time)
		}
		in.Entries[i] = re
	}
	out, err := b.Client.PutEvents(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("eventbridge PutEvents on bus %q: %w", b.Name, err)
	}
	if len(out.Entries) != len(entries) {
		return nil, fmt.Errorf("eventbridge PutEvents on bus %q: %d results for %d entries", b.Name, len(out.Entries), len(entries))
	}
	results := make([]bus.Result, len(entries))
	for i, r := range out.Entries {
		results[i] = bus.Result{
			EventID:      aws.ToString(r.EventId),
			ErrorCode:    aws.ToString(r.ErrorCode),
			ErrorMessage: aws.ToString(r.ErrorMessage),
		}
		if results[i].EventID == "" && results[i].ErrorCode == "" && results[i].ErrorMessage == "" {
			// Neither an id nor an error: do not count the entry as published.
			results[i].ErrorCode = "NoEventId"
			results[i].ErrorMessage = "EventBridge answered no event id and no error for this entry"
		}
	}
	return results, nil
}
