package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/rie"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/pkg/action"
)

// emulatedFunction is a function of the template that is not a shipped action (a user's,
// in any runtime the emulator runs): serve builds it with its `sam build` method and runs
// it under the Lambda emulator, one invocation at a time, as one Lambda instance would.
type emulatedFunction struct {
	s         *Stack
	fn        samtemplate.Function
	bootstrap string
	logs      io.Writer

	mu       sync.Mutex
	emulator *rie.Emulator
	apiProxy *http.Server // shows its Peerdom API calls, as the in-process actions' are shown
	apiURL   string

	// The event being handled: its API calls join that event's records, and the outcome
	// the function's runner logs (ignored, with its reason) is reported for it.
	current  atomic.Pointer[blockRef]
	delivery atomic.Pointer[string] // the current event's delivery id
	logged   chan struct{}          // an "event" log line arrived
	ignored  atomic.Pointer[string] // the reason, when the current event's line said ignored
}

// emulatedTarget builds fn now (a build error stops serve with make's output) and
// returns the target that hands it the events its rules route; the emulator starts with
// the first event, once serve's local endpoints exist.
func (s *Stack) emulatedTarget(fn samtemplate.Function, stderr io.Writer) (func(context.Context, events.EventBridgeEvent) error, error) {
	s.display.linef("  building %s (make build-%s) to run it under the Lambda emulator…", fn.LogicalID, fn.LogicalID)
	bootstrap, err := BuildFunction(context.Background(), filepath.Dir(s.opts.Template), fn, stderr)
	if err != nil {
		return nil, err
	}
	// The emulator too, now: its first build (go install into .tools/) takes a while.
	if _, err := rie.Binary(); err != nil {
		return nil, fmt.Errorf("%s needs the Lambda emulator: %w", fn.LogicalID, err)
	}
	ef := &emulatedFunction{s: s, fn: fn, bootstrap: bootstrap, logged: make(chan struct{}, 1)}
	ef.logs = &functionLogFilter{w: stderr, event: ef.eventLogged}
	s.emulated = append(s.emulated, ef)
	return ef.invoke, nil
}

// invoke delivers one event as EventBridge does to a Lambda target; an error answer
// (the handler's, a timeout, an init failure) fails the delivery, to be retried.
func (ef *emulatedFunction) invoke(ctx context.Context, ev events.EventBridgeEvent) error {
	ef.mu.Lock()
	defer ef.mu.Unlock()
	if ef.emulator == nil {
		if err := ef.start(); err != nil {
			return err
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	select {
	case <-ef.logged:
	default:
	}
	ef.current.Store(&blockRef{eventID: ev.ID, function: ef.fn.LogicalID})
	delivery := localpipeline.DeliveryID(ctx)
	ef.delivery.Store(&delivery)
	ef.ignored.Store(nil)
	defer ef.current.Store(nil)
	resp, err := ef.emulator.Invoke(ctx, payload)
	if err != nil {
		return err
	}
	// The function's log reaches us by a pipe, after its answer may have: wait a little
	// for the runner's line, which says whether the event was ignored.
	select {
	case <-ef.logged:
	case <-time.After(200 * time.Millisecond):
	}
	if reason := ef.ignored.Load(); reason != nil {
		localpipeline.ReportOutcome(ctx, observe.Ignored, *reason)
	}
	if msg, failed := resp.FunctionError(); failed {
		if resp.Status != http.StatusOK { // the init failed: start afresh for the retry
			ef.emulator.Stop()
			ef.emulator = nil
		}
		return errors.New(msg)
	}
	return nil
}

func (ef *emulatedFunction) start() error {
	if ef.apiProxy == nil {
		if err := ef.startAPIProxy(); err != nil {
			return err
		}
	}
	emulator, err := rie.Binary()
	if err != nil {
		return fmt.Errorf("the Lambda emulator: %w", err)
	}
	e, err := rie.Start(emulator, rie.Function{Bootstrap: ef.bootstrap, Name: ef.fn.LogicalID,
		Timeout: time.Duration(ef.fn.TimeoutSeconds) * time.Second, MemoryMB: ef.fn.MemoryMB,
		Env: ef.env(), Output: ef.logs})
	if err != nil {
		return err
	}
	ef.emulator = e
	return nil
}

// env is the template's environment for the function, pointed at serve: its AWS calls
// at the local AWS endpoint, its Peerdom calls at the sandbox (or --peerdom-url) through
// the display proxy, with the key as a plain value; LOG_LEVEL is serve's --log-level.
func (ef *emulatedFunction) env() map[string]string {
	env := map[string]string{}
	for k, v := range ef.fn.Env {
		env[k] = v
	}
	local := ef.s.local
	local.PeerdomAPIURL = ef.apiURL
	local.PeerdomAPIKey = ef.s.apiKey
	ApplyLocal(env, ef.fn, local)
	// Every action reads these (pkg/action.LoadConfig), declared or not: without them a
	// function would call the real Peerdom.
	env["PEERDOM_API_URL"] = ef.apiURL
	env["PEERDOM_API_KEY"] = ef.s.apiKey
	env["PEERDOM_API_KEY_PARAMETER"] = ""
	env["LOG_LEVEL"] = ef.s.opts.LogLevel
	return env
}

// startAPIProxy puts a reverse proxy on a loopback port in front of the Peerdom API that
// shows each call the function makes.
func (ef *emulatedFunction) startAPIProxy() error {
	api, err := url.Parse(ef.s.apiURL)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	target := &url.URL{Scheme: api.Scheme, Host: api.Host}
	// SetURL sends the API's own Host, not the proxy's (the sandbox checks it).
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	calls := &apiCalls{action: ef.fn.LogicalID, function: ef.fn.LogicalID, obs: ef.s.obs, apiKey: ef.s.apiKey, next: http.DefaultTransport}
	proxy.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if ref := ef.current.Load(); ref != nil {
			ctx := context.WithValue(r.Context(), blockRef{}, *ref)
			if id := ef.delivery.Load(); id != nil {
				ctx = context.WithValue(ctx, deliveryRef{}, *id)
			}
			r = r.WithContext(ctx)
		}
		return calls.RoundTrip(r)
	})
	ef.apiProxy = &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = ef.apiProxy.Serve(ln) }()
	ef.apiURL = "http://" + ln.Addr().String() + api.Path
	return nil
}

// stop ends the emulator and the proxy.
func (ef *emulatedFunction) stop() {
	ef.mu.Lock()
	defer ef.mu.Unlock()
	if ef.emulator != nil {
		ef.emulator.Stop()
		ef.emulator = nil
	}
	if ef.apiProxy != nil {
		ef.apiProxy.Close()
	}
}

// eventLogged is told each "event" log line of the function (pkg/action's runner writes
// one per event, its outcome typed as action.Outcome): an ignored one is reported for the
// current event.
func (ef *emulatedFunction) eventLogged(outcome action.Outcome, reason string) {
	if ef.current.Load() != nil && outcome == action.OutcomeIgnored {
		ef.ignored.Store(&reason)
	}
	select {
	case ef.logged <- struct{}{}:
	default:
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// functionLogFilter passes the function's own log lines on and drops the emulator's
// (its "(rapid)" lines and START/END/REPORT), which say nothing serve does not show.
type functionLogFilter struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte
	event   func(outcome action.Outcome, reason string) // each JSON line whose msg is "event"
}

func (f *functionLogFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(f.partial[:i+1])
		f.partial = f.partial[i+1:]
		if strings.Contains(line, "(rapid)") || strings.HasPrefix(line, "START RequestId") ||
			strings.HasPrefix(line, "END RequestId") || strings.HasPrefix(line, "REPORT RequestId") {
			continue
		}
		var rec struct {
			Msg, Reason string
			Outcome     action.Outcome
		}
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "event" && f.event != nil {
			f.event(rec.Outcome, rec.Reason)
		}
		if _, err := io.WriteString(f.w, line); err != nil {
			return len(p), err
		}
	}
}

// watch rebuilds the function when a file under its CodeUri changes (serve --watch),
// polling every interval until ctx ends; the next event starts the new build. A failed
// build is shown and the running one kept.
func (ef *emulatedFunction) watch(ctx context.Context, interval time.Duration, stderr io.Writer) {
	dir := filepath.Join(filepath.Dir(ef.s.opts.Template), ef.fn.CodeURI)
	last := latestChange(dir)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		changed := latestChange(dir)
		if !changed.After(last) {
			continue
		}
		last = changed
		ef.s.display.linef("  %s changed: rebuilding (make build-%s)…", ef.fn.CodeURI, ef.fn.LogicalID)
		bootstrap, err := BuildFunction(ctx, filepath.Dir(ef.s.opts.Template), ef.fn, stderr)
		if err != nil {
			ef.s.display.linef("  ! %s: %v (the previous build keeps running)", ef.fn.LogicalID, err)
			continue
		}
		ef.mu.Lock()
		ef.bootstrap = bootstrap
		if ef.emulator != nil {
			ef.emulator.Stop() // the next event starts the new build
			ef.emulator = nil
		}
		ef.mu.Unlock()
		ef.s.display.linef("  %s rebuilt: the next event runs the new build", ef.fn.LogicalID)
	}
}

// latestChange is the newest modification time of the files under dir.
func latestChange(dir string) time.Time {
	var latest time.Time
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(latest) {
			latest = info.ModTime()
		}
		return nil
	})
	return latest
}
