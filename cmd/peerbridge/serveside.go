package main

// What the commands in internal/cmd get from serve, through the command table: invoke
// --local's twins and tail's display.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/cmd/invoke"
	"github.com/peerbridge/peerbridge/internal/serve"
)

// showEvents is tail's display: each event's heading as serve shows it.
func showEvents(w io.Writer) func(events.CloudWatchEvent) {
	return func(ev events.CloudWatchEvent) { fmt.Fprintln(w, serve.EventHeading(ev, nil, time.Now())) }
}

// invokeTwins is invoke's Twins: serve.LocalTwins.
func invokeTwins(ctx context.Context, opts *invoke.Options, stderr io.Writer) (invoke.Local, func(), error) {
	return serve.LocalTwins(ctx, opts.Template, opts.LocalEndpoint, stderr)
}
