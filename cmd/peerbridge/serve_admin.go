package main

// The admin endpoint of serve: what `peerbridge status --local` and `peerbridge dlq
// list|show|redrive --local` ask a running serve. It listens on its own loopback port
// (--admin-addr), apart from the webhook endpoint, so that a webhook port opened to a
// tunnel (to receive Peerdom's real webhooks) never exposes it. Each request needs a
// random token that serve writes, with the address, to a file only the user can read
// (adminFile); the CLI reads it from there, so the token is never on a command line or
// printed.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// adminFileEnv names another admin file than the default, e.g. for a second serve.
const adminFileEnv = "PEERBRIDGE_ADMIN_FILE"

// adminFile is where serve writes its admin address and token: $PEERBRIDGE_ADMIN_FILE,
// else serve-admin.json in the user's cache directory (the same for every working
// directory, so the CLI finds serve from anywhere).
func adminFile() (string, error) {
	if f := os.Getenv(adminFileEnv); f != "" {
		return f, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for serve's admin file (%w); set %s", err, adminFileEnv)
	}
	return filepath.Join(dir, "peerbridge", "serve-admin.json"), nil
}

// adminInfo is the admin file's content.
type adminInfo struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

// counters are what serve counts since it started, under the metric names of the
// deployed stack (internal/metrics), so status shows them in the same table.
type counters struct {
	since                                    time.Time
	accepted, rejected, failedDeliveries     atomic.Int64
	unrecognized                             atomic.Int64
	actionsDone, actionsIgnored, actionsFail atomic.Int64

	mu          sync.Mutex
	reasons     map[string]string // the worker's last error, by queue message id
	reasonOrder []string          // the ids in reasons, oldest first, for forgetting the oldest
}

// maxReasons bounds the worker errors kept: an error is forgotten only when this many
// newer ones came after it.
const maxReasons = 10000

func newCounters() *counters { return &counters{since: time.Now().UTC(), reasons: map[string]string{}} }

func (c *counters) noteReason(messageID, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.reasons[messageID]; !ok {
		if len(c.reasonOrder) >= maxReasons {
			delete(c.reasons, c.reasonOrder[0])
			c.reasonOrder = c.reasonOrder[1:]
		}
		c.reasonOrder = append(c.reasonOrder, messageID)
	}
	c.reasons[messageID] = reason
}

func (c *counters) reason(messageID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reasons[messageID]
}

// countWebhooks counts the endpoint's answers: 200 accepted, anything else rejected.
func (c *counters) countWebhooks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			c.accepted.Add(1)
		} else {
			c.rejected.Add(1)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// countEvent counts the bus's unrecognized messages, then calls next.
func (c *counters) countEvent(next func(events.CloudWatchEvent, map[string]any, []string)) func(events.CloudWatchEvent, map[string]any, []string) {
	return func(ev events.CloudWatchEvent, detail map[string]any, routedTo []string) {
		if ev.DetailType == peerdom.DetailTypeUnrecognized {
			c.unrecognized.Add(1)
		}
		next(ev, detail, routedTo)
	}
}

// logCounter reads the handlers' log lines for what serve counts: the worker's
// "delivery" lines that failed (and their error, the dead letter's reason) and the
// actions' "event" lines by outcome. Failures are logged at error level, so it asks
// the worker for no line the logger would not have written anyway.
type logCounter struct {
	next    slog.Handler
	c       *counters
	actions bool // the actions' runner: Enabled for every level, as it counts each outcome
}

func (h logCounter) Enabled(ctx context.Context, l slog.Level) bool {
	return h.actions || l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h logCounter) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "delivery":
		var id, outcome, errText string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "messageId":
				id = a.Value.String()
			case "outcome":
				outcome = a.Value.String()
			case "error":
				errText = a.Value.String()
			}
			return true
		})
		if outcome == "failed" && id != "" {
			h.c.failedDeliveries.Add(1)
			h.c.noteReason(id, errText)
		}
	case "event":
		if !h.actions {
			break // the runner's own logCounter counts it
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "outcome" {
				switch a.Value.String() {
				case "done":
					h.c.actionsDone.Add(1)
				case "ignored":
					h.c.actionsIgnored.Add(1)
				case "failed":
					h.c.actionsFail.Add(1)
				}
			}
			return true
		})
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h logCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logCounter{next: h.next.WithAttrs(attrs), c: h.c, actions: h.actions}
}

func (h logCounter) WithGroup(name string) slog.Handler {
	return logCounter{next: h.next.WithGroup(name), c: h.c, actions: h.actions}
}

// listenAdmin binds the admin endpoint, on a loopback address only: it can redrive
// dead letters, and its token travels in clear HTTP.
func listenAdmin(listen func(network, addr string) (net.Listener, error), addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--admin-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--admin-addr %q: the admin endpoint listens on a loopback address only (e.g. 127.0.0.1:3003)", addr)
	}
	ln, err := listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin endpoint: %w (give another --admin-addr, or empty for none)", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("--admin-addr %q resolved to %s, not a loopback address", addr, tcp.IP)
	}
	return ln, nil
}

// startAdmin serves the admin endpoint on ln and writes the admin file.
func (s *stack) startAdmin(ln net.Listener) error {
	file := s.opts.adminFile
	if file == "" {
		var err error
		if file, err = adminFile(); err != nil {
			return err
		}
	}
	b := make([]byte, 32)
	rand.Read(b)
	s.adminToken = hex.EncodeToString(b)
	info := adminInfo{URL: "http://" + ln.Addr().String(), Token: s.adminToken, PID: os.Getpid()}
	raw, _ := json.MarshalIndent(info, "", "  ")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("admin file: %w", err)
	}
	// Written whole under a temporary name, then renamed: a CLI never reads half a file.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("admin file: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("admin file: %w", err)
	}
	s.adminFile, s.adminURL = file, info.URL
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", s.adminStatus)
	mux.HandleFunc("GET /dlq/{queue}", s.adminDLQ)
	mux.HandleFunc("POST /dlq/{queue}/redrive", s.adminRedrive)
	s.adminSrv = s.opts.timeouts.server(s.adminAuth(mux))
	go serveUntilClosed(s.adminSrv, ln, s.done)
	return nil
}

// stopAdmin closes the admin endpoint and removes the admin file, if it is still this
// serve's (another serve may have started since and written its own).
func (s *stack) stopAdmin() {
	if s.adminSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if s.adminSrv.Shutdown(ctx) != nil {
		s.adminSrv.Close()
	}
	var info adminInfo
	if raw, err := os.ReadFile(s.adminFile); err == nil && json.Unmarshal(raw, &info) == nil && info.Token == s.adminToken {
		os.Remove(s.adminFile)
	}
}

// adminAuth lets through requests from loopback that carry the admin token.
func (s *stack) adminAuth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.adminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			adminError(w, http.StatusForbidden, "the admin endpoint answers loopback only")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			adminError(w, http.StatusUnauthorized, "missing or wrong admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// localStatus is status for serve, in the deployed stack's shape.
func (s *stack) localStatus(now time.Time) operate.Status {
	q := s.pipeline.Queue
	st := operate.Status{
		Stack:       "serve (local)",
		StackStatus: fmt.Sprintf("running, pid %d", os.Getpid()),
		WebhookURL:  strings.TrimSuffix(s.webhookURL, s.opts.token) + "<token>",
		Queue:       operate.QueueStatus{Name: "webhooks", Visible: q.Len(), InFlight: q.InFlight()},
		DLQs: []operate.QueueStatus{
			{Name: "webhooks DLQ", Visible: len(q.DeadLetters())},
			{Name: "events DLQ", Visible: len(s.pipeline.DeadActions())},
		},
		CountsSince: s.counts.since,
	}
	if pending := q.Pending(); len(pending) > 0 {
		oldest := slices.MinFunc(pending, func(a, b queue.Message) int { return a.SentAt.Compare(b.SentAt) })
		age := now.Sub(oldest.SentAt).Truncate(time.Second)
		st.Queue.OldestAge = &age
	}
	c := s.counts
	st.LastHour = map[string]float64{
		metrics.WebhooksAccepted: float64(c.accepted.Load()),
		metrics.WebhooksRejected: float64(c.rejected.Load()),
		metrics.EventsPublished:  float64(s.pipeline.Bus.Accepted()),
		metrics.Unrecognized:     float64(c.unrecognized.Load()),
		metrics.DeliveriesFailed: float64(c.failedDeliveries.Load()),
		metrics.ActionsDone:      float64(c.actionsDone.Load()),
		metrics.ActionsIgnored:   float64(c.actionsIgnored.Load()),
		metrics.ActionsFailed:    float64(c.actionsFail.Load()),
	}
	return st
}

func (s *stack) adminStatus(w http.ResponseWriter, _ *http.Request) {
	adminJSON(w, http.StatusOK, s.localStatus(time.Now()))
}

// localDeadLetters lists a dead-letter list as the dlq commands show a queue's, bodies
// included (show needs them; list drops them).
func (s *stack) localDeadLetters(kind string) []operate.DeadLetter {
	var out []operate.DeadLetter
	if kind == operate.Events {
		for _, d := range s.pipeline.DeadActions() {
			body, _ := json.Marshal(d.Event)
			out = append(out, operate.DeadLetter{MessageID: d.Event.ID, EventID: d.Event.ID, DetailType: d.Event.DetailType,
				SentAt: d.Event.Time, Target: d.Function, Reason: d.Err.Error(), Body: string(body)})
		}
		return out
	}
	for _, m := range s.pipeline.Queue.DeadLetters() {
		l := operate.DeadLetter{MessageID: m.ID, SentAt: m.SentAt, ReceiveCount: m.ReceiveCount, Body: m.Body}
		var env struct {
			ID         string    `json:"id"`
			ReceivedAt time.Time `json:"receivedAt"`
		}
		if json.Unmarshal([]byte(m.Body), &env) == nil {
			l.DeliveryID, l.ReceivedAt = env.ID, env.ReceivedAt
		}
		l.Reason = cmpOrDash(s.counts.reason(m.ID), "(the worker's error is no longer kept)")
		out = append(out, l)
	}
	return out
}

func (s *stack) adminDLQ(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("queue")
	if kind != operate.Webhooks && kind != operate.Events {
		adminError(w, http.StatusNotFound, "no dead-letter list "+kind+": webhooks or events")
		return
	}
	adminJSON(w, http.StatusOK, s.localDeadLetters(kind))
}

// redriveRequest names what to redrive: IDs (message, delivery or event ids), or All.
type redriveRequest struct {
	IDs []string `json:"ids"`
	All bool     `json:"all"`
}

func (s *stack) adminRedrive(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("queue")
	var req redriveRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.All == (len(req.IDs) > 0) {
		adminError(w, http.StatusBadRequest, `want {"all":true} or {"ids":[...]}`)
		return
	}
	var moved int
	var err error
	switch kind {
	case operate.Webhooks:
		var ids []string // message ids; nil: all
		if !req.All {
			ids = []string{}
			for _, l := range s.localDeadLetters(kind) {
				if slices.Contains(req.IDs, l.MessageID) || (l.DeliveryID != "" && slices.Contains(req.IDs, l.DeliveryID)) {
					ids = append(ids, l.MessageID)
				}
			}
		}
		moved, err = s.pipeline.RedriveQueue(ids)
	case operate.Events:
		moved, err = s.pipeline.RedriveActions(func(d localpipeline.DeadAction) bool {
			return req.All || slices.Contains(req.IDs, d.Event.ID)
		})
	default:
		adminError(w, http.StatusNotFound, "no dead-letter list "+kind+": webhooks or events")
		return
	}
	if err != nil && moved == 0 {
		adminError(w, http.StatusConflict, err.Error())
		return
	}
	if moved > 0 {
		where := "the webhook queue"
		if kind == operate.Events {
			where = "their functions"
		}
		s.display.linef("  ↻ redrive: %d %s dead letter(s) back to %s (peerbridge dlq redrive --local)", moved, kind, where)
	}
	resp := map[string]any{"moved": moved, "method": "local"}
	if err != nil {
		resp["error"] = err.Error()
	}
	adminJSON(w, http.StatusOK, resp)
}

// adminClient is the CLI's side: it finds the running serve through the admin file.
type adminClient struct {
	info adminInfo
	file string
	http *http.Client
}

func openAdmin() (*adminClient, error) {
	file, err := adminFile()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no serve running (it writes %s when it starts): start `make run` (or `peerbridge serve`), then ask again", file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading serve's admin file: %w", err)
	}
	var info adminInfo
	if err := json.Unmarshal(raw, &info); err != nil || info.URL == "" {
		return nil, fmt.Errorf("serve's admin file %s is not readable; restart serve (`make run`) to write it again", file)
	}
	return &adminClient{info: info, file: file, http: &http.Client{Timeout: 10 * time.Second}}, nil
}

// call sends one request and decodes the JSON answer into out.
func (a *adminClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequestWithContext(ctx, method, a.info.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.info.Token)
	resp, err := a.http.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no serve answers at %s (the one that wrote %s has stopped): start `make run`, then ask again", a.info.URL, a.file)
	}
	if err != nil {
		return fmt.Errorf("asking serve at %s: %w", a.info.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("the serve at %s refused the token of %s: another serve holds that address now; restart it, or point %s at its admin file", a.info.URL, a.file, adminFileEnv)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("serve answered %s: %s", resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func runStatusLocal(ctx context.Context, asJSON bool, stdout, stderr io.Writer) int {
	a, err := openAdmin()
	if err != nil {
		return fail(stderr, "status --local", err)
	}
	var st operate.Status
	if err := a.call(ctx, http.MethodGet, "/status", nil, &st); err != nil {
		return fail(stderr, "status --local", err)
	}
	if asJSON {
		printJSON(stdout, st)
		return 0
	}
	printStatus(stdout, st)
	return 0
}

// runDLQLocal is dlq list|show|redrive against the running serve. Unlike the deployed
// stack, an events dead letter can be redriven: serve hands it to its function again.
func runDLQLocal(ctx context.Context, sub, kind string, ids []string, all, asJSON bool, limit int, stdout, stderr io.Writer) int {
	a, err := openAdmin()
	if err != nil {
		return fail(stderr, "dlq "+sub+" --local", err)
	}
	switch sub {
	case "list", "show":
		var letters []operate.DeadLetter
		if err := a.call(ctx, http.MethodGet, "/dlq/"+kind, nil, &letters); err != nil {
			return fail(stderr, "dlq "+sub+" --local", err)
		}
		if sub == "show" {
			i := slices.IndexFunc(letters, func(l operate.DeadLetter) bool {
				return l.MessageID == ids[0] || l.DeliveryID == ids[0] || l.EventID == ids[0]
			})
			if i < 0 {
				return fail(stderr, "dlq show --local", fmt.Errorf("no message %q in serve's %s dead-letter list (%d there)", ids[0], kind, len(letters)))
			}
			if asJSON {
				printJSON(stdout, letters[i])
				return 0
			}
			printDeadLetters(stdout, kind, letters[i:i+1])
			fmt.Fprintf(stdout, "\n%s\n", indentJSON(letters[i].Body))
			return 0
		}
		for i := range letters {
			letters[i].Body = "" // as the deployed list: show has the body
		}
		if limit > 0 && len(letters) > limit {
			letters = letters[:limit]
		}
		if asJSON {
			printJSON(stdout, letters)
			return 0
		}
		printDeadLetters(stdout, kind, letters)
		return 0
	case "redrive":
		var result struct {
			Moved  int    `json:"moved"`
			Method string `json:"method"`
			Error  string `json:"error,omitempty"`
		}
		if err := a.call(ctx, http.MethodPost, "/dlq/"+kind+"/redrive", redriveRequest{IDs: ids, All: all}, &result); err != nil {
			return fail(stderr, "dlq redrive --local", err)
		}
		if result.Error != "" {
			fmt.Fprintf(stderr, "peerbridge dlq redrive --local: %s\n", result.Error)
		}
		if asJSON {
			printJSON(stdout, result)
		} else if kind == operate.Events {
			fmt.Fprintf(stdout, "Handed %d dead-lettered events back to their functions (serve).\n", result.Moved)
		} else {
			fmt.Fprintf(stdout, "Moved %d messages back to serve's webhook queue.\n", result.Moved)
		}
		if len(ids) > result.Moved {
			fmt.Fprintf(stderr, "%d of the %d ids named were not found in serve's %s dead-letter list.\n", len(ids)-result.Moved, len(ids), kind)
			return 1
		}
		if result.Error != "" {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "peerbridge dlq %s: not available with --local (serve's lists end with serve; list, show and redrive are)\n", sub)
	return 2
}
