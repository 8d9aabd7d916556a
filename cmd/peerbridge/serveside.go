package main

// What the commands in internal/cmd get from serve, through the command table: invoke
// --local's twins (a running serve's local AWS endpoint, or the twins started for one
// invocation) and tail's display. It goes with serve to internal/serve.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/peerbridge/peerbridge/internal/cmd/invoke"
	"github.com/peerbridge/peerbridge/internal/localaws"
)

// showEvents is tail's display: serve's.
func showEvents(w io.Writer) func(events.CloudWatchEvent) {
	d := &display{w: w}
	return func(ev events.CloudWatchEvent) { d.event(ev, nil, nil) }
}

// invokeOptions are what localTwins reads of invoke's options.
type invokeOptions struct {
	template      string
	localEndpoint string // a running serve's local AWS endpoint
}

// invokeTwins is invoke's Twins: localTwins, described as invoke.Local.
func invokeTwins(ctx context.Context, opts *invoke.Options, stderr io.Writer) (invoke.Local, func(), error) {
	d, stop, err := localTwins(ctx, invokeOptions{template: opts.Template, localEndpoint: opts.LocalEndpoint}, stderr)
	return invoke.Local(d), stop, err
}

// localTwins finds a running serve's local AWS endpoint, or starts the pipeline in this
// process for the invocation (its display on stderr), and returns what the function
// needs to reach it; stop ends what was started, once its work is done.
func localTwins(ctx context.Context, opts invokeOptions, stderr io.Writer) (localDescription, func(), error) {
	awsOf := func(i adminInfo) string { return i.AWSEndpoint }
	_, serves, err := runningServes()
	if err != nil {
		return localDescription{}, nil, fmt.Errorf("--local: %w", err)
	}
	if opts.localEndpoint != "" || slices.ContainsFunc(serves, func(r runningServe) bool { return r.info.AWSEndpoint != "" }) {
		r, err := pickServe(opts.localEndpoint, "--local-endpoint", awsOf)
		if err != nil {
			return localDescription{}, nil, fmt.Errorf("--local: %w", err)
		}
		d, err := fetchLocalDescription(ctx, r.info)
		if err != nil {
			return d, nil, fmt.Errorf("--local: the serve %s: %w", r, err)
		}
		fmt.Fprintf(stderr, "peerbridge invoke: --local: posting to the running serve %s\n", r)
		return d, func() {}, nil
	}
	fmt.Fprintln(stderr, "peerbridge invoke: --local: no serve running (make run starts one); starting the twins and the sandbox for this invocation")
	s, err := startStack(ctx, serveOptions{addr: "127.0.0.1:0", sandboxAddr: "127.0.0.1:0", awsAddr: "127.0.0.1:0",
		template: opts.template, params: map[string]string{}, logLevel: "warn", noAdminFile: true}, stderr, stderr)
	if err != nil {
		return localDescription{}, nil, fmt.Errorf("--local: starting the twins: %w", err)
	}
	stop := func() {
		res, err := s.stop(30 * time.Second)
		if err == nil && res.spilled+res.lost > 0 {
			err = errors.New("work was left undone")
		}
		if err != nil {
			fmt.Fprintf(stderr, "peerbridge invoke: --local: %v\n", err)
		}
	}
	return s.local, stop, nil
}

// fetchLocalDescription asks a serve's local AWS endpoint what a function needs, signed
// with the credentials of its admin file.
func fetchLocalDescription(ctx context.Context, info adminInfo) (localDescription, error) {
	var d localDescription
	if info.AWS == nil {
		return d, errors.New("its admin file holds no credentials for the local AWS endpoint: restart that serve")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(info.AWSEndpoint, "/")+localDescriptionPath, nil)
	if err != nil {
		return d, err
	}
	if err := signLocal(ctx, req, *info.AWS, nil); err != nil {
		return d, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return d, fmt.Errorf("%s answered %s: %s", info.AWSEndpoint, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return d, err
	}
	d.Creds = *info.AWS
	return d, nil
}

// signLocal signs req for a local AWS endpoint (SigV4, as an SDK client does).
func signLocal(ctx context.Context, req *http.Request, c localaws.Credentials, body []byte) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "peerbridge", "us-east-1", time.Now())
}
