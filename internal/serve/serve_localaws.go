package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// LocalDescriptionPath is where serve's local AWS endpoint describes the running stack,
// for `peerbridge invoke --local`.
const LocalDescriptionPath = "/peerbridge/local"

// LocalDescription is what a function run against a running serve needs to reach its
// twins and its sandbox.
type LocalDescription struct {
	AWSEndpoint   string            `json:"awsEndpoint"`   // SQS and EventBridge over AWS's JSON protocol
	QueueURL      string            `json:"queueUrl"`      // the webhook queue
	EventBusName  string            `json:"eventBusName"`  // the bus
	PeerdomAPIURL string            `json:"peerdomApiUrl"` // the sandbox, or the real API
	PeerdomAPIKey string            `json:"peerdomApiKey"` // the sandbox's key only: a real key is never served
	WebhookToken  string            `json:"webhookToken"`
	Params        map[string]string `json:"params"` // the template parameters serve resolved

	Creds localaws.Credentials `json:"-"` // from the admin file: never served
}

// listenLocalAWS binds serve's local AWS endpoint (--aws-addr; empty: none). It puts
// events on the bus that the actions act on: loopback only, and (serveLocalAWS) every
// request signed with the credentials of the admin file.
func listenLocalAWS(listen func(network, addr string) (net.Listener, error), addr string) (net.Listener, error) {
	if err := localaws.CheckLoopback("--aws-addr", addr); err != nil {
		return nil, err
	}
	ln, err := listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--aws-addr %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("--aws-addr %q resolved to %s, not a loopback address", addr, tcp.IP)
	}
	return ln, nil
}

// describeLocalAWS is what invoke --local learns from the endpoint on ln.
func (s *Stack) describeLocalAWS(ln net.Listener) {
	s.awsCreds = localaws.NewCredentials()
	endpoint := "http://" + ln.Addr().String()
	s.local = LocalDescription{
		AWSEndpoint:   endpoint,
		QueueURL:      endpoint + "/000000000000/" + s.pipeline.Queue.Name,
		EventBusName:  s.busName,
		PeerdomAPIURL: s.apiURL,
		WebhookToken:  s.opts.Token,
		Params:        s.params,
		Creds:         s.awsCreds,
	}
	if s.sandbox != nil {
		s.local.PeerdomAPIKey = s.sandbox.Config().APIKey
	}
}

// serveLocalAWS answers on ln, to requests addressed to ln and signed with s.awsCreds only:
// the description, and SQS SendMessage and EventBridge PutEvents onto the pipeline's queue
// and bus.
func (s *Stack) serveLocalAWS(ln net.Listener) {
	wire := &localaws.Handler{
		Queues: map[string]queue.Sender{s.local.QueueURL: s.pipeline.Queue},
		Buses:  map[string]bus.Putter{s.local.EventBusName: s.pipeline.Bus},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LocalDescriptionPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.local)
	})
	mux.Handle("/", wire)
	s.localAWSSrv = s.opts.Timeouts.server(&localaws.Guard{Creds: s.awsCreds, Hosts: localaws.LoopbackHosts(ln.Addr()), Next: mux})
	go serveUntilClosed(s.localAWSSrv, ln, s.done)
}

// stopLocalAWS closes the local AWS endpoint with the webhook endpoint: what it accepted
// is on the queue or the bus, which drain next.
func (s *Stack) stopLocalAWS(timeout time.Duration) {
	if s.localAWSSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.localAWSSrv.Shutdown(ctx); err != nil {
		s.localAWSSrv.Close()
	}
}

// templateBusName is the bus name the template gives its functions (EVENT_BUS_NAME), so
// that a function run under the emulator with the template's environment finds the bus.
func templateBusName(tpl *samtemplate.Template) string {
	fns, _ := tpl.Functions()
	for _, fn := range fns {
		if name := fn.Env["EVENT_BUS_NAME"]; name != "" {
			return name
		}
	}
	return "default"
}

// ApplyLocal points a function's environment at serve's twins and sandbox: AWS at the
// local AWS endpoint, with the only credentials it accepts; and, among the variables the template
// declares, the queue, the bus, the Peerdom API and the tokens.
func ApplyLocal(env map[string]string, fn samtemplate.Function, local LocalDescription) {
	for k := range env {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL_") {
			delete(env, k)
		}
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": local.AWSEndpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": local.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": local.Creds.SecretAccessKey, "AWS_SESSION_TOKEN": "",
	} {
		env[k] = v
	}
	set := func(k, v string) {
		if _, declared := fn.Env[k]; declared {
			env[k] = v
		}
	}
	set("QUEUE_URL", local.QueueURL)
	set("EVENT_BUS_NAME", local.EventBusName)
	set("PEERDOM_API_URL", local.PeerdomAPIURL)
	set("IDEMPOTENCY_TABLE", "") // no DynamoDB twin on the wire: every delivery runs
	if local.PeerdomAPIKey != "" {
		set("PEERDOM_API_KEY", local.PeerdomAPIKey)
		set("PEERDOM_API_KEY_PARAMETER", "")
	}
	if env["WEBHOOK_TOKENS"] == "" {
		set("WEBHOOK_TOKENS", local.WebhookToken)
	}
	if env["WEBHOOK_TOKENS"] != "" {
		set("WEBHOOK_TOKEN_SECRET_ID", "") // plain tokens: no secret to read
	}
}

// Local is what a function run against this serve needs to reach its twins and sandbox
// (what `invoke --local` gives the function).
func (s *Stack) Local() LocalDescription { return s.local }
