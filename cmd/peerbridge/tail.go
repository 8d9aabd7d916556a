package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

func runTail(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: peerbridge tail [--pattern JSON] [--detail-type TYPE ...] [--forward-to URL] [flags]

Shows the deployed bus's events live, as serve shows them, through a temporary rule and
queue (tagged peerbridge:tail, with a peerbridge:expires time) that it removes on exit,
Ctrl-C, SIGTERM and a closed terminal (SIGHUP) included. Each tail first removes the
rules and queues of earlier tails whose expiry has passed (a tail killed with -9);
--cleanup does only that. --forward-to POSTs each event's JSON to a URL, such as a
consumer running on your machine.

flags:`)
		fs.PrintDefaults()
	}
	var sf stackFlags
	sf.register(fs)
	pattern := fs.String("pattern", "", "an EventBridge event pattern (JSON) selecting the events (default: every event of --source)")
	var detailTypes multiFlag
	fs.Var(&detailTypes, "detail-type", "only this detail-type (repeatable; ignored with --pattern)")
	source := fs.String("source", peerdom.DefaultSource, "the stack's event source (its EventSource parameter)")
	forwardTo := fs.String("forward-to", "", "POST each event's JSON to this URL")
	cleanup := fs.Bool("cleanup", false, "only remove the rules and queues of earlier tails whose peerbridge:expires time has passed, then exit")
	if argv, err := parseFlags(fs, args); err != nil || len(argv) > 0 {
		if err == nil {
			fs.Usage()
			return 2
		}
		return flagExit(err)
	}
	rulePattern, err := operate.TailPattern(*pattern, detailTypes, *source)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge tail: %v\n", err)
		return 2
	}
	cfg, st, err := sf.open(ctx)
	if err != nil {
		return fail(stderr, "tail", err)
	}
	bus, err := st.Output(operate.OutputEventBusName)
	if err != nil {
		return fail(stderr, "tail", err)
	}
	removed, err := operate.RemoveExpiredTaps(ctx, sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), bus, st.Name, time.Now())
	for _, name := range removed {
		fmt.Fprintf(stderr, "Removed the expired rule and queue %s (left by an earlier tail).\n", name)
	}
	if *cleanup {
		if err != nil {
			return fail(stderr, "tail --cleanup", err)
		}
		fmt.Fprintf(stderr, "%d expired tail rules and queues removed.\n", len(removed))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge tail: removing expired tails: %v\n", err)
	}
	tap, err := operate.OpenTap(ctx, sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), bus, st.Name, rulePattern, time.Now())
	if err != nil {
		return fail(stderr, "tail", err)
	}
	code := tail(ctx, tap, *forwardTo, sf.json, stdout, stderr)
	if err := tap.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "peerbridge tail: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "Removed the rule and queue %s.\n", tap.Rule)
	return code
}

func tail(ctx context.Context, tap *operate.Tap, forwardTo string, asJSON bool, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "Tailing bus %s through rule and queue %s; Ctrl-C stops and removes them.\n", tap.Bus, tap.Rule)

	client := &http.Client{Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		msgs, err := tap.Next(ctx)
		if ctx.Err() != nil {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "peerbridge tail: %v\n", err)
			return 1
		}
		for _, m := range msgs {
			body := aws.ToString(m.Body)
			var ev events.CloudWatchEvent
			if asJSON {
				fmt.Fprintln(stdout, body)
			} else if err := json.Unmarshal([]byte(body), &ev); err == nil {
				fmt.Fprintln(stdout, serve.EventHeading(ev, nil, time.Now()))
			} else {
				fmt.Fprintln(stdout, body)
			}
			if forwardTo != "" {
				forward(ctx, client, forwardTo, body, stderr)
			}
			if err := tap.Done(context.WithoutCancel(ctx), m); err != nil {
				fmt.Fprintf(stderr, "peerbridge tail: %v\n", err)
			}
		}
	}
	return 0
}

// forward POSTs one event; a consumer that fails is reported, and tail goes on.
func forward(ctx context.Context, client *http.Client, url, body string, stderr io.Writer) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		fmt.Fprintf(stderr, "          ✗ forward: %v\n", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "          ✗ forward to %s: %v\n", url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(stderr, "          → %s %d\n", url, resp.StatusCode)
}
