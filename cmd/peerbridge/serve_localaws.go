package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// localDescriptionPath is where serve's local AWS endpoint describes the running stack,
// for `peerbridge invoke --local`.
const localDescriptionPath = "/peerbridge/local"

// localDescription is what a function run against a running serve needs to reach its
// twins and its sandbox.
type localDescription struct {
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
func (s *stack) describeLocalAWS(ln net.Listener) {
	s.awsCreds = localaws.NewCredentials()
	endpoint := "http://" + ln.Addr().String()
	s.local = localDescription{
		AWSEndpoint:   endpoint,
		QueueURL:      endpoint + "/000000000000/" + s.pipeline.Queue.Name,
		EventBusName:  s.busName,
		PeerdomAPIURL: s.apiURL,
		WebhookToken:  s.opts.token,
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
func (s *stack) serveLocalAWS(ln net.Listener) {
	wire := &localaws.Handler{
		Queues: map[string]queue.Sender{s.local.QueueURL: s.pipeline.Queue},
		Buses:  map[string]bus.Putter{s.local.EventBusName: s.pipeline.Bus},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+localDescriptionPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.local)
	})
	mux.Handle("/", wire)
	s.localAWSSrv = s.opts.timeouts.server(&localaws.Guard{Creds: s.awsCreds, Hosts: localaws.LoopbackHosts(ln.Addr()), Next: mux})
	go serveUntilClosed(s.localAWSSrv, ln, s.done)
}

// stopLocalAWS closes the local AWS endpoint with the webhook endpoint: what it accepted
// is on the queue or the bus, which drain next.
func (s *stack) stopLocalAWS(timeout time.Duration) {
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
