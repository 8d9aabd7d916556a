package serve

// The admin endpoint of serve: what `peerbridge status --local` and `peerbridge dlq
// list|show|redrive --local` ask a running serve. It listens on its own loopback port
// (--admin-addr), apart from the webhook endpoint, so that a webhook port opened to a
// tunnel (to receive Peerdom's real webhooks) never exposes it. Each request needs a
// random token that serve writes, with the address, to a file only the user can read
// (adminFile); the CLI reads it from there, so the token is never on a command line or
// printed.

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/queue"
)

// AdminDirEnv names another directory for the admin files than the default.
const AdminDirEnv = "PEERBRIDGE_ADMIN_DIR"

// adminDir is where each running serve writes its admin file: $PEERBRIDGE_ADMIN_DIR, else
// peerbridge/serve in the user's cache directory (the same for every working directory,
// so the CLI finds serve from anywhere).
func adminDir() (string, error) {
	if d := os.Getenv(AdminDirEnv); d != "" {
		return d, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for serve's admin files (%w); set %s", err, AdminDirEnv)
	}
	return filepath.Join(dir, "peerbridge", "serve"), nil
}

// AdminFileName names a serve's admin file by its admin address, or by its local AWS
// address when it has no admin endpoint: two serves cannot hold one address, so each
// running serve has its own file.
func AdminFileName(adminAddr, awsAddr string) string {
	name := "admin-" + adminAddr
	if adminAddr == "" {
		name = "aws-" + awsAddr
	}
	return strings.NewReplacer(":", "_", "[", "", "]", "", "/", "_").Replace(name) + ".json"
}

// AdminInfo is the admin file's content.
type AdminInfo struct {
	URL   string `json:"url,omitempty"` // the admin endpoint; empty: none
	Token string `json:"token"`
	PID   int    `json:"pid"`
	// The local AWS endpoint (--aws-addr) and the only credentials it accepts: what
	// `invoke --local` signs with and gives the function.
	AWSEndpoint string                `json:"awsEndpoint,omitempty"`
	AWS         *localaws.Credentials `json:"aws,omitempty"`
}

// counters keep, by queue message id, the worker's last error: the reason a webhook's
// dead letter is listed with. What serve counts is the record's (observe.Counts).
type counters struct {
	mu          sync.Mutex
	reasons     map[string]string // the worker's last error, by queue message id
	reasonOrder []string          // the ids in reasons, oldest first, for forgetting the oldest
}

// maxReasons bounds the worker errors kept: an error is forgotten only when this many
// newer ones came after it.
const maxReasons = 10000

func newCounters() *counters { return &counters{reasons: map[string]string{}} }

// noteRecord keeps the worker's errors; it taps the stream (it sees every record).
func (c *counters) noteRecord(r observe.Record) {
	if r.DeliveryFail != nil {
		c.noteReason(r.DeliveryFail.MessageID, r.DeliveryFail.Error)
	}
}

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
		return nil, fmt.Errorf("--admin-addr %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("--admin-addr %q resolved to %s, not a loopback address", addr, tcp.IP)
	}
	return ln, nil
}

// writeAdminFile writes this serve's admin file: the admin endpoint's address and token,
// and the local AWS endpoint's address and credentials. Only the user can read it.
func (s *Stack) writeAdminFile(adminLn, awsLn net.Listener) error {
	dir, err := adminDir()
	if err != nil {
		return err
	}
	b := make([]byte, 32)
	rand.Read(b)
	s.adminToken = hex.EncodeToString(b)
	info := AdminInfo{Token: s.adminToken, PID: os.Getpid()}
	var adminAddr, awsAddr string
	if adminLn != nil {
		adminAddr = adminLn.Addr().String()
		info.URL = "http://" + adminAddr
	}
	if awsLn != nil {
		awsAddr = awsLn.Addr().String()
		info.AWSEndpoint, info.AWS = s.local.AWSEndpoint, &s.awsCreds
	}
	raw, _ := json.MarshalIndent(info, "", "  ")
	file := filepath.Join(dir, AdminFileName(adminAddr, awsAddr))
	if err := writePrivateFile(file, raw); err != nil {
		return fmt.Errorf("admin file: %w", err)
	}
	s.adminFile, s.adminURL = file, info.URL
	return nil
}

// writePrivateFile writes file whole (under a temporary name, then renamed: a CLI never
// reads half a file), readable by the user only, in a directory only the user may enter.
// Nothing is written through a symbolic link: the directory must be a real one of the
// user's, and the temporary file is created new (O_EXCL, O_NOFOLLOW).
func writePrivateFile(file string, raw []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (a symbolic link?)", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to another user", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	tmp := file + ".tmp"
	open := func() (*os.File, error) {
		return os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	}
	f, err := open()
	if errors.Is(err, os.ErrExist) { // left by a serve that was killed: removed, not followed
		if err := os.Remove(tmp); err != nil {
			return err
		}
		f, err = open()
	}
	if err != nil {
		return err
	}
	_, err = f.Write(raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// startAdmin serves the admin endpoint on ln (the admin file is written).
func (s *Stack) startAdmin(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", s.adminStatus)
	mux.HandleFunc("GET /dlq/{queue}", s.adminDLQ)
	mux.HandleFunc("POST /dlq/{queue}/redrive", s.adminRedrive)
	if c, err := s.newConsole(ln); err != nil {
		s.display.linef("  ! console: %v", err)
	} else {
		s.console = c
	}
	s.adminSrv = s.opts.Timeouts.server(withConsole(s.console, hostOnly(s.adminAuth(mux), ln)))
	go serveUntilClosed(s.adminSrv, ln, s.done)
}

// stopAdmin closes the admin endpoint and removes the admin file, if it is still this
// serve's (another serve may have started since and written its own).
func (s *Stack) stopAdmin() {
	if s.adminSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if s.adminSrv.Shutdown(ctx) != nil {
			s.adminSrv.Close()
		}
	}
	if s.adminFile == "" {
		return
	}
	var info AdminInfo
	if raw, err := os.ReadFile(s.adminFile); err == nil && json.Unmarshal(raw, &info) == nil && info.Token == s.adminToken {
		os.Remove(s.adminFile)
	}
}

// adminAuth lets through requests from loopback that carry the admin token.
func (s *Stack) adminAuth(next http.Handler) http.Handler {
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
func (s *Stack) localStatus(now time.Time) operate.Status {
	q := s.pipeline.Queue
	st := operate.Status{
		Stack:       "serve (local)",
		StackStatus: fmt.Sprintf("running, pid %d", os.Getpid()),
		WebhookURL:  strings.TrimSuffix(s.webhookURL, s.opts.Token) + "<token>",
		Queue:       operate.QueueStatus{Name: "webhooks", Visible: q.Len(), InFlight: q.InFlight()},
		DLQs: []operate.QueueStatus{
			{Name: "webhooks DLQ", Visible: len(q.DeadLetters())},
			{Name: "events DLQ", Visible: len(s.pipeline.DeadActions())},
		},
	}
	if pending := q.Pending(); len(pending) > 0 {
		oldest := slices.MinFunc(pending, func(a, b queue.Message) int { return a.SentAt.Compare(b.SentAt) })
		age := now.Sub(oldest.SentAt).Truncate(time.Second)
		st.Queue.OldestAge = &age
	}
	c := s.obs.Counts()
	st.CountsSince = c.Since
	st.LastHour = map[string]float64{
		metrics.WebhooksAccepted: float64(c.WebhooksAccepted),
		metrics.WebhooksRejected: float64(c.WebhooksRefused),
		metrics.EventsPublished:  float64(s.pipeline.Bus.Accepted()),
		metrics.Unrecognized:     float64(c.Unrecognized),
		metrics.DeliveriesFailed: float64(c.DeliveriesFailed),
		metrics.ActionsDone:      float64(c.ActionsDone),
		metrics.ActionsIgnored:   float64(c.ActionsIgnored),
		metrics.ActionsFailed:    float64(c.ActionsFailed),
	}
	return st
}

func (s *Stack) adminStatus(w http.ResponseWriter, _ *http.Request) {
	adminJSON(w, http.StatusOK, s.localStatus(time.Now()))
}

// localDeadLetters lists a dead-letter list as the dlq commands show a queue's, bodies
// included (show needs them; list drops them).
func (s *Stack) localDeadLetters(kind string) []operate.DeadLetter {
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
		l.Reason = cmp.Or(s.counts.reason(m.ID), "(the worker's error is no longer kept)")
		out = append(out, l)
	}
	return out
}

func (s *Stack) adminDLQ(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("queue")
	if kind != operate.Webhooks && kind != operate.Events {
		adminError(w, http.StatusNotFound, "no dead-letter list "+kind+": webhooks or events")
		return
	}
	adminJSON(w, http.StatusOK, s.localDeadLetters(kind))
}

// RedriveRequest names what to redrive: IDs (message, delivery or event ids), or All.
type RedriveRequest struct {
	IDs []string `json:"ids"`
	All bool     `json:"all"`
}

func (s *Stack) adminRedrive(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("queue")
	var req RedriveRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.All == (len(req.IDs) > 0) {
		adminError(w, http.StatusBadRequest, `want {"all":true} or {"ids":[...]}`)
		return
	}
	if kind != operate.Webhooks && kind != operate.Events {
		adminError(w, http.StatusNotFound, "no dead-letter list "+kind+": webhooks or events")
		return
	}
	moved, err := s.Redrive(kind, req.IDs, req.All)
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

// AdminClient is the CLI's side: it finds the running serve through its admin file.
type AdminClient struct {
	info AdminInfo
	file string
	http *http.Client
}

// RunningServe is one admin file whose serve's process still runs.
type RunningServe struct {
	File string
	Info AdminInfo
}

func (r RunningServe) String() string {
	var parts []string
	if r.Info.URL != "" {
		parts = append(parts, "admin "+strings.TrimPrefix(r.Info.URL, "http://"))
	}
	if r.Info.AWSEndpoint != "" {
		parts = append(parts, "local AWS "+strings.TrimPrefix(r.Info.AWSEndpoint, "http://"))
	}
	return fmt.Sprintf("%s (pid %d)", strings.Join(parts, ", "), r.Info.PID)
}

// RunningServes reads the admin files of the serves whose process still runs (a serve
// killed with -9 leaves its file behind: it is skipped).
func RunningServes() (dir string, serves []RunningServe, err error) {
	dir, err = adminDir()
	if err != nil {
		return "", nil, err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var info AdminInfo
		if json.Unmarshal(raw, &info) != nil || info.PID <= 0 {
			continue
		}
		if err := syscall.Kill(info.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
			continue
		}
		serves = append(serves, RunningServe{File: f, Info: info})
	}
	return dir, serves, nil
}

// sameAddr says whether URL u names addr (localhost read as 127.0.0.1).
func sameAddr(u, addr string) bool {
	norm := func(a string) string {
		a = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(a, "http://"), "https://"), "/")
		if h, p, err := net.SplitHostPort(a); err == nil && h == "localhost" {
			return "127.0.0.1:" + p
		}
		return a
	}
	return u != "" && norm(u) == norm(addr)
}

// PickServe is the running serve whose `field` address is addr, or with addr empty the
// only running one that has that endpoint; flag is what names it on the command line.
func PickServe(addr, flag string, field func(AdminInfo) string) (RunningServe, error) {
	dir, serves, err := RunningServes()
	if err != nil {
		return RunningServe{}, err
	}
	serves = slices.DeleteFunc(serves, func(r RunningServe) bool { return field(r.Info) == "" })
	var names []string
	for _, r := range serves {
		names = append(names, r.String())
	}
	if addr != "" {
		for _, r := range serves {
			if sameAddr(field(r.Info), addr) {
				return r, nil
			}
		}
		if len(serves) == 0 {
			return RunningServe{}, fmt.Errorf("no serve is running (none has an admin file in %s): start `make run` (or `peerbridge serve`), then ask again", dir)
		}
		return RunningServe{}, fmt.Errorf("no running serve has %s %s; running: %s", flag, addr, strings.Join(names, "; "))
	}
	switch len(serves) {
	case 0:
		return RunningServe{}, fmt.Errorf("no serve is running (none has an admin file in %s): start `make run` (or `peerbridge serve`), then ask again", dir)
	case 1:
		return serves[0], nil
	}
	return RunningServe{}, fmt.Errorf("%d serves are running: %s; name one with %s", len(serves), strings.Join(names, "; "), flag)
}

// OpenAdmin finds the serve to ask: the one whose admin endpoint is adminAddr, or the
// only one running.
func OpenAdmin(adminAddr string) (*AdminClient, error) {
	r, err := PickServe(adminAddr, "--admin-addr", func(i AdminInfo) string { return i.URL })
	if err != nil {
		return nil, err
	}
	return &AdminClient{info: r.Info, file: r.File, http: &http.Client{Timeout: 10 * time.Second}}, nil
}

// call sends one request and decodes the JSON answer into out.
func (a *AdminClient) Call(ctx context.Context, method, path string, body, out any) error {
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
		return fmt.Errorf("the serve at %s refused the token of %s: another serve holds that address now; restart it", a.info.URL, a.file)
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
