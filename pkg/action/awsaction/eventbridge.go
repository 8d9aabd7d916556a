// Package awsaction runs an action.Runner as an AWS Lambda function behind an
// EventBridge rule: EventBridgeHandler converts EventBridge's events to action.Event
// (ToEventBridge the other way, for tests and local runs), and PeerdomClient builds the
// Peerdom API client with the key read from Secrets Manager at the cold start. A
// function's main.go wires them (functions/actions/*): configuration from the
// environment, the clients, the handler, lambda.Start.
package awsaction

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// EventBridgeHandler is the Lambda handler of an EventBridge target:
// lambda.Start(awsaction.EventBridgeHandler(r)). An event whose detail cannot be read
// fails with action.ErrBadEvent and its own log line; the others go to r.Run.
func EventBridgeHandler(r *action.Runner) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, e events.EventBridgeEvent) error {
		ev, err := FromEventBridge(e)
		if err != nil {
			logger := r.Logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.LogAttrs(ctx, slog.LevelError, "event",
				slog.String("action", r.Name), slog.String("eventId", e.ID), slog.String("detailType", e.DetailType),
				slog.String("outcome", string(action.OutcomeFailed)), slog.String("error", err.Error()))
			if r.OnResult != nil {
				r.OnResult(ctx, action.Event{ID: e.ID, Source: e.Source, DetailType: e.DetailType, Time: e.Time}, action.Result{Outcome: action.OutcomeFailed, Err: err})
			}
			return err
		}
		return r.Run(ctx, ev)
	}
}

// FromEventBridge decodes an event as EventBridge delivers it to a Lambda target.
func FromEventBridge(e events.EventBridgeEvent) (action.Event, error) {
	if len(e.Detail) == 0 || string(e.Detail) == "null" {
		return action.Event{}, fmt.Errorf("%w: event %s (%s) has no detail", action.ErrBadEvent, e.ID, e.DetailType)
	}
	d, err := peerdom.DecodeDetail(e.Detail)
	if err != nil {
		return action.Event{}, fmt.Errorf("%w: event %s (%s): %v", action.ErrBadEvent, e.ID, e.DetailType, err)
	}
	return action.Event{ID: e.ID, Source: e.Source, DetailType: e.DetailType, Time: e.Time, Detail: d}, nil
}

// ToEventBridge is the event as EventBridge would deliver it to a Lambda target.
func ToEventBridge(ev action.Event) (events.EventBridgeEvent, error) {
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return events.EventBridgeEvent{}, err
	}
	return events.EventBridgeEvent{Version: "0", ID: ev.ID, Source: ev.Source, DetailType: ev.DetailType,
		Time: ev.Time, Resources: []string{}, Detail: detail}, nil
}
