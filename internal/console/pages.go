package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

type pages struct {
	c *Console
	t map[string]*template.Template
}

func newPages(c *Console) *pages {
	funcs := template.FuncMap{
		"u":   func(p string) string { return Prefix + strings.TrimPrefix(p, "/") },
		"esc": url.PathEscape,
		"ago": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.Local().Format("2006-01-02 15:04:05")
		},
		"dur": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	p := &pages{c: c, t: map[string]*template.Template{}}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		p.t[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
	return p
}

// page is what the layout needs, around a page's own data.
type page struct {
	Title, Nav, Source string
	HasStatus          bool
	CSRF               string
	Msg, Err           string
	Data               any
}

func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name, nav, title string, data any) {
	_, hasStatus := p.c.src.(StatusSource)
	pg := page{Title: title, Nav: nav, Source: p.c.opts.Title, Data: data, HasStatus: hasStatus,
		Msg: r.URL.Query().Get("msg"), Err: r.URL.Query().Get("err")}
	if s := sessionOf(r); s != nil {
		pg.CSRF = s.csrf
	}
	var b bytes.Buffer
	if err := p.t[name].ExecuteTemplate(&b, "layout.html", pg); err != nil {
		slog.Error("console page", "page", name, "error", err.Error())
		http.Error(w, "the page could not be made", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(p.c.redact(b.String())))
}

func (p *pages) refusal(w http.ResponseWriter, status int, msg string) {
	var b bytes.Buffer
	p.t["refused"].ExecuteTemplate(&b, "layout.html", page{Title: http.StatusText(status), Source: p.c.opts.Title, Data: msg})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

type ctxKey struct{}

func withSession(r *http.Request, s *session) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(ctxKey{}).(*session)
	return s
}

func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+Prefix+"{$}", c.eventsPage)
	m.HandleFunc("GET "+Prefix+"stream", c.stream)
	m.HandleFunc("GET "+Prefix+"event/{id}", c.eventPage)
	m.HandleFunc("POST "+Prefix+"event/{id}/replay", c.replay)
	m.HandleFunc("GET "+Prefix+"dlq", c.dlqPage)
	m.HandleFunc("POST "+Prefix+"dlq/redrive", c.redrive)
	m.HandleFunc("GET "+Prefix+"dlq/purge", c.purgeConfirm)
	m.HandleFunc("POST "+Prefix+"dlq/purge", c.purge)
	m.HandleFunc("GET "+Prefix+"reconcile", c.reconcilePage)
	m.HandleFunc("GET "+Prefix+"status", c.statusPage)
	m.HandleFunc("GET "+Prefix+"sandbox", c.sandboxPage)
	m.HandleFunc("POST "+Prefix+"sandbox/edit", c.sandboxEdit)
	m.HandleFunc("POST "+Prefix+"sandbox/send", c.sendSample)
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) { c.refuse(w, http.StatusNotFound, "No such page.") })
	return m
}

// back sends the browser to path after a POST, with a message (or an error) to show.
func back(w http.ResponseWriter, r *http.Request, path string, msg string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("err", err.Error())
	} else {
		q.Set("msg", msg)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, Prefix+strings.TrimPrefix(path, "/")+sep+q.Encode(), http.StatusSeeOther)
}

// ---- Events

type eventsData struct {
	Filter                    filter
	Rows                      []row
	Total                     int
	Kinds, Entities, Outcomes []string
	StreamURL                 string
}

// streamURL is the live stream of f's rows after the event newest (the page's newest).
func streamURL(f filter, newest string) string {
	q, _ := url.ParseQuery(f.Query())
	if newest != "" {
		q.Set("after", newest)
	}
	if len(q) == 0 {
		return Prefix + "stream"
	}
	return Prefix + "stream?" + q.Encode()
}

// maxRows bounds the rows the events page lists (the newest matching ones).
const maxRows = 500

// resyncEvery is how soon a live stream that missed updates sends the events it missed.
const resyncEvery = 250 * time.Millisecond

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request) {
	f := parseFilter(r.URL.Query())
	evs := c.src.Events()
	d := eventsData{Filter: f, Total: len(evs),
		Kinds:    []string{"Role Created", "Role Updated", "Role Deleted", "Group Created", "Group Updated", "Group Deleted", "Peer Created", "Peer Updated", "Peer Deleted", "Unrecognized Message"},
		Entities: []string{"role", "group", "peer"},
		Outcomes: []string{"none", OutcomeRunning, OutcomeDone, OutcomeIgnored, OutcomeFailed, OutcomeDeadLettered},
	}
	for i := len(evs) - 1; i >= 0 && len(d.Rows) < maxRows; i-- {
		if v := c.view(evs[i]); f.match(v) {
			d.Rows = append(d.Rows, rowOf(v))
		}
	}
	for _, ev := range evs {
		if !slices.Contains(d.Kinds, ev.DetailType) {
			d.Kinds = append(d.Kinds, ev.DetailType)
		}
	}
	newest := ""
	if len(evs) > 0 {
		newest = evs[len(evs)-1].ID
	}
	d.StreamURL = streamURL(f, newest)
	c.pages.render(w, r, http.StatusOK, "events", "events", "Events", d)
}

// stream sends the live list's rows as server-sent events: each event matching the
// filter when it is published or changes, newest last.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	select {
	case c.streams <- struct{}{}:
		defer func() { <-c.streams }()
	default:
		http.Error(w, "too many live streams open", http.StatusServiceUnavailable)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	s := &liveStream{c: c, w: w, f: parseFilter(r.URL.Query()), shown: map[string]bool{}}
	// The server's write timeout is for a request's whole answer; a stream's is per write.
	rc := http.NewResponseController(w)
	flush := func() {
		rc.SetWriteDeadline(time.Now().Add(time.Minute))
		flusher.Flush()
	}
	updates, cancel := c.src.Subscribe()
	defer cancel()
	// The events published between the page and this stream (or before a reconnect):
	// those after the page's newest, which the stream may send again as updates (the
	// page replaces a row by its id).
	after := r.URL.Query().Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after = id
	}
	evs := c.src.Events()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: live\n\n")
	s.newest = after
	s.sendSince(evs, after)
	flush()
	var resync <-chan time.Time
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case ev, ok := <-updates:
			if !ok {
				return
			}
			if ev.ID == "" {
				// Updates were missed (the pipeline ran faster than this reader): in a
				// moment, send the events published since the newest one sent (at most
				// every resyncEvery, as reading them all costs the pipeline a copy of
				// its ring).
				if resync == nil {
					resync = time.After(resyncEvery)
				}
				continue
			}
			s.send(ev)
			if !ev.Time.Before(s.newestAt) {
				s.newest, s.newestAt = ev.ID, ev.Time
			}
		case <-resync:
			resync = nil
			s.sendSince(c.src.Events(), s.newest)
		}
		flush()
	}
}

// liveStream is one open stream of the events page: its filter, the rows it sent that
// matched it, and the newest event it sent (to catch up from after a loss).
type liveStream struct {
	c        *Console
	w        io.Writer
	f        filter
	shown    map[string]bool // rows sent that matched, so a change that no longer matches hides them
	newest   string
	newestAt time.Time
}

// send writes ev's row, or hides a row shown before that no longer matches.
func (s *liveStream) send(ev Event) {
	v := s.c.view(ev)
	rw := rowOf(v)
	if !s.f.match(v) {
		if !s.shown[v.ID] {
			return
		}
		delete(s.shown, v.ID)
		rw.Hide = true
	} else if len(s.shown) < 10*maxRows {
		s.shown[v.ID] = true
	}
	b, _ := json.Marshal(rw)
	fmt.Fprintf(s.w, "id: %s\nevent: row\ndata: %s\n\n", strings.ReplaceAll(ev.ID, "\n", ""), s.c.redact(string(b)))
}

// sendSince sends the kept events after the one with id (the newest maxRows when id is
// not among them), and remembers the newest sent.
func (s *liveStream) sendSince(evs []Event, id string) {
	from := max(0, len(evs)-maxRows)
	if id != "" {
		if i := slices.IndexFunc(evs, func(e Event) bool { return e.ID == id }); i >= 0 {
			from = max(from, i+1)
		}
	}
	for _, ev := range evs[from:] {
		s.send(ev)
		s.newest, s.newestAt = ev.ID, ev.Time
	}
}

// ---- One event

type eventData struct {
	E     eventView
	Rules []string
}

func (c *Console) eventPage(w http.ResponseWriter, r *http.Request) {
	ev, ok := c.src.Event(r.PathValue("id"))
	if !ok {
		c.refuse(w, http.StatusNotFound, "No such event is kept (the console keeps the newest ones; older ones are in --events-out).")
		return
	}
	c.pages.render(w, r, http.StatusOK, "event", "events", ev.DetailType, eventData{E: c.view(ev), Rules: c.src.Rules()})
}

func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	id, rule := r.PathValue("id"), r.PostFormValue("rule")
	err := c.src.Replay(r.Context(), id, rule)
	back(w, r, "event/"+url.PathEscape(id), fmt.Sprintf("Replayed to rule %s.", rule), err)
}

// ---- Dead letters

type dlqData struct {
	Webhooks, Actions []DeadLetter
	Unavailable       string
}

func (c *Console) dlqPage(w http.ResponseWriter, r *http.Request) {
	var d dlqData
	all, err := c.src.DeadLetters(r.Context())
	if err != nil {
		d.Unavailable = err.Error()
	}
	for _, dl := range all {
		dl.Error, dl.Body = c.redact(dl.Error), c.redact(dl.Body)
		if dl.Queue == QueueWebhooks {
			d.Webhooks = append(d.Webhooks, dl)
		} else {
			d.Actions = append(d.Actions, dl)
		}
	}
	c.pages.render(w, r, http.StatusOK, "dlq", "dlq", "Dead letters", d)
}

func validQueue(q string) error {
	if q != QueueWebhooks && q != QueueEvents {
		return fmt.Errorf("no queue %q (webhooks or events)", q)
	}
	return nil
}

func (c *Console) redrive(w http.ResponseWriter, r *http.Request) {
	q, id := r.PostFormValue("queue"), r.PostFormValue("id")
	if err := validQueue(q); err != nil {
		back(w, r, "dlq", "", err)
		return
	}
	n, err := c.src.Redrive(r.Context(), q, id)
	back(w, r, "dlq", fmt.Sprintf("Redrove %d message(s) of the %s dead-letter queue.", n, q), err)
}

func (c *Console) purgeConfirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("queue")
	if err := validQueue(q); err != nil {
		c.refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	all, err := c.src.DeadLetters(r.Context())
	n := 0
	for _, dl := range all {
		if dl.Queue == q {
			n++
		}
	}
	d := struct {
		Queue string
		N     int
		Err   error
	}{q, n, err}
	c.pages.render(w, r, http.StatusOK, "purge", "dlq", "Purge "+q, d)
}

func (c *Console) purge(w http.ResponseWriter, r *http.Request) {
	q := r.PostFormValue("queue")
	if err := validQueue(q); err != nil {
		back(w, r, "dlq", "", err)
		return
	}
	if r.PostFormValue("confirm") != q {
		back(w, r, "dlq/purge?queue="+q, "", errors.New("type the queue's name to confirm the purge"))
		return
	}
	n, err := c.src.Purge(r.Context(), q)
	back(w, r, "dlq", fmt.Sprintf("Purged %d message(s) of the %s dead-letter queue.", n, q), err)
}

// ---- Reconcile

func (c *Console) reconcilePage(w http.ResponseWriter, r *http.Request) {
	runs, err := c.src.ReconcileRuns()
	slices.Reverse(runs)
	d := struct {
		Runs        []ReconcileRun
		Unavailable string
	}{Runs: runs}
	if err != nil {
		d.Unavailable = err.Error()
	}
	for i := range d.Runs {
		d.Runs[i].Error = c.redact(d.Runs[i].Error)
	}
	c.pages.render(w, r, http.StatusOK, "reconcile", "reconcile", "Reconcile", d)
}

// ---- Status

func (c *Console) statusPage(w http.ResponseWriter, r *http.Request) {
	ss, ok := c.src.(StatusSource)
	d := struct {
		S           Status
		Unavailable string
	}{}
	if !ok {
		d.Unavailable = ErrUnavailable.Error()
	} else if st, err := ss.Status(r.Context()); err != nil {
		d.Unavailable = err.Error()
	} else {
		d.S = st
	}
	c.pages.render(w, r, http.StatusOK, "status", "status", "Status", d)
}

// ---- Sandbox

func (c *Console) sandboxPage(w http.ResponseWriter, r *http.Request) {
	sb, err := c.src.Sandbox(r.Context())
	d := struct {
		S           Sandbox
		Kinds       []string
		Unavailable string
	}{S: sb, Kinds: c.src.SampleKinds()}
	if err != nil {
		d.Unavailable = err.Error()
	}
	c.pages.render(w, r, http.StatusOK, "sandbox", "sandbox", "Sandbox", d)
}

func (c *Console) sandboxEdit(w http.ResponseWriter, r *http.Request) {
	e := SandboxEdit{
		Op: r.PostFormValue("op"), ID: r.PostFormValue("id"), Name: strings.TrimSpace(r.PostFormValue("name")),
		FirstName: strings.TrimSpace(r.PostFormValue("firstName")), LastName: strings.TrimSpace(r.PostFormValue("lastName")),
	}
	var err error
	switch e.Op {
	case "rename-role", "rename-circle":
		if e.ID == "" || e.Name == "" {
			err = errors.New("a rename needs the entity and a new name")
		}
	case "add-peer":
		if e.FirstName == "" {
			err = errors.New("a peer needs a first name")
		}
	default:
		err = fmt.Errorf("no edit %q", e.Op)
	}
	if err == nil {
		err = c.src.EditSandbox(r.Context(), e)
	}
	back(w, r, "sandbox", "Done: the sandbox Peerdom sent its webhook; watch it arrive on the Events page.", err)
}

func (c *Console) sendSample(w http.ResponseWriter, r *http.Request) {
	kind := r.PostFormValue("kind")
	var err error
	if !slices.Contains(c.src.SampleKinds(), kind) {
		err = fmt.Errorf("no sample kind %q", kind)
	} else {
		err = c.src.SendSample(r.Context(), kind)
	}
	back(w, r, "sandbox", fmt.Sprintf("Sent a %s webhook.", kind), err)
}
