// Package send is `peerbridge send [--url URL] [--token T] [--kind KIND[,KIND…]|all]`:
// the Test URL button of Peerdom, from the command line, for any kind of message.
package send

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

const (
	// DefaultURL is where make run's serve takes webhooks.
	DefaultURL = "http://127.0.0.1:3000"
	// TokenEnv holds the webhook token when --token is not given.
	TokenEnv = "PEERBRIDGE_WEBHOOK_TOKEN"
	// maxAnswerBytes bounds how much of an answer is read: ingest answers a line of JSON.
	maxAnswerBytes = 64 * 1024
)

// Options are send's flags, checked.
type Options struct {
	IO       cmdutil.IOStreams
	Endpoint Endpoint // where to post, token apart
	Kinds    []string // webhooksamples kinds, in order
	Timeout  time.Duration
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, getenv func(string) string, args []string) int {
	opts, err := Parse(ios, getenv, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options; the token comes from --token, the URL, or
// $PEERBRIDGE_WEBHOOK_TOKEN.
func Parse(ios cmdutil.IOStreams, getenv func(string) string, args []string) (*Options, error) {
	opts := &Options{IO: ios}
	fs := cmdutil.NewFlagSet("send", ios, args, func(w io.Writer) {
		fmt.Fprintf(w, "usage: peerbridge send [--url URL] [--token T] [--kind KIND[,KIND...]|all] [--timeout D]\n\n"+
			"Posts sample Peerdom webhooks, as the Test URL button does, and prints each answer's\n"+
			"status and body (the delivery id). Kinds: %s, or all.\n"+
			"A spill file of serve is restored by peerbridge serve --replay FILE.\n\n", strings.Join(webhooksamples.Kinds(), ", "))
	})
	rawURL := fs.String("url", DefaultURL, "the endpoint: a base URL, to which /webhooks/<token> is added, or the whole webhook URL with its token")
	token := fs.String("token", "", "the webhook `token` (default $"+TokenEnv+")")
	kindList := fs.String("kind", webhooksamples.Test, "what to send: a `kind`, several separated by commas, or all")
	fs.DurationVar(&opts.Timeout, "timeout", 10*time.Second, "how long each request may take")
	replay := fs.String("replay", "", "no longer posts a spill `FILE`: restore it with peerbridge serve --replay FILE")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		return nil, cmdutil.Usagef(ios, "send", "unexpected argument %q (the kind goes in --kind)", argv[0])
	}
	if *replay != "" {
		// Posted as new webhooks, a spill file's deliveries got new ids and ran every
		// action again; serve --replay restores them exactly.
		return nil, cmdutil.Usagef(ios, "send", "--replay: restore a spill file with: peerbridge serve --replay %s\n"+
			"(it queues its webhooks again with their delivery ids, and runs only the actions still pending)", *replay)
	}
	if opts.Kinds, err = sendKinds(*kindList); err != nil {
		return nil, cmdutil.Usagef(ios, "send", "%v", err)
	}
	if opts.Endpoint, err = webhookEndpoint(*rawURL, *token, getenv(TokenEnv)); err != nil {
		return nil, cmdutil.Usagef(ios, "send", "%v", err)
	}
	return opts, nil
}

// Run posts each kind's sample and prints the answers; it stops with status 1 at the
// first that fails or is refused.
func Run(ctx context.Context, opts *Options) int {
	client := &http.Client{
		Timeout: opts.Timeout,
		// An answer is shown as it comes; following a redirect would also carry the
		// token to wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, kind := range opts.Kinds {
		body, ok := webhooksamples.Body(kind)
		if !ok {
			return cmdutil.Fail(opts.IO.ErrOut, "send", fmt.Errorf("unknown kind %q", kind))
		}
		status, answer, err := post(ctx, client, opts.Endpoint, body)
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "peerbridge send: %s: %v\n", kind, err)
			return 1
		}
		if status/100 != 2 {
			fmt.Fprintf(opts.IO.ErrOut, "peerbridge send: %s: %s: %s\n", kind, statusText(status), errorMessage(answer))
			return 1
		}
		fmt.Fprintf(opts.IO.Out, "%s: %s %s\n", kind, statusText(status), oneLine(answer))
	}
	return 0
}

// sendKinds reads --kind: one kind, several separated by commas, or all.
func sendKinds(list string) ([]string, error) {
	if strings.TrimSpace(list) == "all" {
		return webhooksamples.Kinds(), nil
	}
	var kinds []string
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if _, ok := webhooksamples.Get(k); !ok {
			return nil, fmt.Errorf("unknown kind %q; kinds: %s, or all", k, strings.Join(webhooksamples.Kinds(), ", "))
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// Endpoint is a webhook URL split around its token, so the token can be left out of
// everything printed.
type Endpoint struct {
	prefix string // scheme://host/…/webhooks/
	token  string
}

func (e Endpoint) String() string   { return e.prefix + url.PathEscape(e.token) }
func (e Endpoint) Redacted() string { return e.prefix + "<token>" }

// webhookEndpoint builds the URL to post to. A URL whose path ends in /webhooks/<token>
// is used as it is; any other gets /webhooks/<token> added, with the token from --token,
// else from the environment.
func webhookEndpoint(rawURL, flagToken, envToken string) (Endpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Endpoint{}, fmt.Errorf("--url %q is not an http:// or https:// URL", rawURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, errors.New("--url must not have a query or fragment: the endpoint is POST /webhooks/{token}")
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	base := u.Scheme + "://" + u.Host
	if i := strings.LastIndex(path, "/webhooks/"); i >= 0 && !strings.Contains(path[i+len("/webhooks/"):], "/") {
		urlToken, err := url.PathUnescape(path[i+len("/webhooks/"):])
		if err != nil {
			return Endpoint{}, fmt.Errorf("--url has a badly escaped token: %v", err)
		}
		if flagToken != "" && flagToken != urlToken {
			return Endpoint{}, errors.New("--url already ends in /webhooks/<token> and --token gives another; give the token once")
		}
		return Endpoint{prefix: base + path[:i+len("/webhooks/")], token: urlToken}, nil
	}
	token := flagToken
	if token == "" {
		token = envToken
	}
	if token == "" {
		return Endpoint{}, fmt.Errorf("no webhook token: pass --token, set %s, or give the whole URL …/webhooks/<token> in --url", TokenEnv)
	}
	if strings.HasSuffix(path, "/webhooks") {
		return Endpoint{prefix: base + path + "/", token: token}, nil
	}
	return Endpoint{prefix: base + path + "/webhooks/", token: token}, nil
}

// post sends one body and returns the answer's status and body. Its errors name the
// endpoint without the token.
func post(ctx context.Context, client *http.Client, ep Endpoint, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %v", ep.Redacted(), redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "peerbridge-send")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return 0, nil, fmt.Errorf("nothing answers at %s (connection refused). Is the local pipeline running? Start it with `make run`, or give a deployed endpoint with --url", ep.Redacted())
		}
		return 0, nil, fmt.Errorf("POST %s: %v", ep.Redacted(), redact(err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer from %s: %v", ep.Redacted(), redact(err))
	}
	return resp.StatusCode, answer, nil
}

// redact drops the URL (which holds the token) that net/http puts in its errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// errorMessage is the server's explanation: the "error" (ingest) or "message" (API
// Gateway) of a JSON answer, else the answer's text.
func errorMessage(answer []byte) string {
	var m struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(answer, &m) == nil {
		if m.Error != "" {
			return m.Error
		}
		if m.Message != "" {
			return m.Message
		}
	}
	if s := oneLine(answer); s != "" {
		return s
	}
	return "(no answer body)"
}

// oneLine shows an answer body on one line, shortened when long.
func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
