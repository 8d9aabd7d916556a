// Package console is peerbridge's web console: every webhook, what it became, where it
// went and what each action did, in a browser. `peerbridge serve` mounts it on its admin
// address under Prefix and prints its URL, which carries a one-time token.
//
// Security: it answers loopback clients only, addressed by their own address (the Host
// header is 127.0.0.1:PORT, localhost:PORT or [::1]:PORT, so a DNS-rebound name is
// refused); the token in the printed URL is exchanged once for a session kept in an
// HttpOnly SameSite=Strict cookie, after which the token is spent; every POST needs the
// session's CSRF token and a same-origin Origin; every answer carries a strict
// Content-Security-Policy (scripts and styles from the console itself, nothing inline,
// no other origin, no framing). The secrets it is given are cut out of everything shown.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Options configure a Console.
type Options struct {
	// Addr is the address the console is served on (host:port, a loopback host): the Host
	// headers it answers are this port on 127.0.0.1, localhost and [::1].
	Addr string
	// Secrets are cut out of every page and stream (the API key, the webhook token):
	// a source should never hand them over, and the console shows them as ••• if it does.
	Secrets []string
	// Title names what the console shows ("serve", "stack peerbridge").
	Title string
	// MaxStreams bounds the live streams open at once (default 16).
	MaxStreams int
}

// Console is the web console's http.Handler (mount it at Prefix).
type Console struct {
	src   Source
	opts  Options
	hosts map[string]bool
	mux   *http.ServeMux
	pages *pages

	mu       sync.Mutex
	token    string              // the one-time token; "" once spent
	sessions map[string]*session // by session id
	streams  chan struct{}       // a slot per open live stream
}

type session struct {
	csrf    string
	created time.Time
}

const (
	cookieName  = "peerbridge_console"
	maxSessions = 16
	sessionTTL  = 7 * 24 * time.Hour
)

// New makes a console over src. It refuses an address that is not loopback.
func New(src Source, opts Options) (*Console, error) {
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("console address %q: %w", opts.Addr, err)
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("console address %q: the console listens on a loopback address only", opts.Addr)
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 16
	}
	if opts.Title == "" {
		opts.Title = "serve"
	}
	c := &Console{
		src:      src,
		opts:     opts,
		hosts:    map[string]bool{"127.0.0.1:" + port: true, "localhost:" + port: true, "[::1]:" + port: true},
		token:    randomToken(),
		sessions: map[string]*session{},
		streams:  make(chan struct{}, opts.MaxStreams),
	}
	c.pages = newPages(c)
	c.mux = c.routes()
	return c, nil
}

// isLoopback says whether host (a name or an IP, no port) is a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// URL is the console's address with its one-time token, to print. It is "" once the
// token was spent; NewToken makes another.
func (c *Console) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" {
		return ""
	}
	return "http://" + c.opts.Addr + Prefix + "?token=" + c.token
}

// NewToken replaces the one-time token (spent or not) and returns the new URL: for a
// user whose browser lost its session.
func (c *Console) NewToken() string {
	c.mu.Lock()
	c.token = randomToken()
	c.mu.Unlock()
	return c.URL()
}

// ServeHTTP checks every request (client, Host, session, CSRF) and sets the security
// headers before any page sees it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // not no-referrer: with it, a browser sends "Origin: null" on the console's own POSTs
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")

	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		c.refuse(w, http.StatusForbidden, "The console answers this machine only.")
		return
	}
	if !c.hosts[strings.ToLower(r.Host)] {
		// DNS rebinding: a page of another name resolved to 127.0.0.1.
		c.refuse(w, http.StatusForbidden, "The console answers requests addressed to 127.0.0.1 or localhost only.")
		return
	}
	if !strings.HasPrefix(r.URL.Path, Prefix) {
		c.refuse(w, http.StatusNotFound, "Not found.")
		return
	}
	if r.URL.Path == Prefix+"static/console.css" || r.URL.Path == Prefix+"static/console.js" {
		c.mux.ServeHTTP(w, r) // public, and holding nothing: the refusal pages use them
		return
	}
	if tok := r.URL.Query().Get("token"); tok != "" {
		c.exchange(w, r, tok)
		return
	}
	sess := c.session(r)
	if sess == nil {
		c.refuse(w, http.StatusUnauthorized, "Open the console with the URL peerbridge serve printed (it holds a one-time token).")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !sameOrigin(r) {
			c.refuse(w, http.StatusForbidden, "A request from another site is refused.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
			c.refuse(w, http.StatusForbidden, "The form's CSRF token is missing or wrong: reload the page and try again.")
			return
		}
	}
	c.mux.ServeHTTP(w, withSession(r, sess))
}

// csp: the console's own script and style only; no inline code, no other origin, no
// frames, forms post to the console only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// sameOrigin: a POST's Origin (or, lacking it, Referer) names the console's own origin,
// and the browser does not call it cross-site.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	self := "http://" + r.Host
	if o := r.Header.Get("Origin"); o != "" {
		return o == self
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return ref == self || strings.HasPrefix(ref, self+"/")
	}
	return true // no browser sent it: the CSRF token alone decides
}

// exchange spends the one-time token for a session and sends the browser on to the same
// page without it.
func (c *Console) exchange(w http.ResponseWriter, r *http.Request, tok string) {
	if r.Method != http.MethodGet {
		c.refuse(w, http.StatusMethodNotAllowed, "Open the console's URL with GET.")
		return
	}
	c.mu.Lock()
	ok := c.token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(c.token)) == 1
	var id string
	if ok {
		c.token = ""
		id = randomToken()
		c.dropOldSessions()
		c.sessions[id] = &session{csrf: randomToken(), created: time.Now()}
	}
	c.mu.Unlock()
	if !ok {
		c.refuse(w, http.StatusForbidden, "This console URL was used already or is wrong: a console URL opens one browser session. Restart serve for a new one.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second),
	})
	q := r.URL.Query()
	q.Del("token")
	to := r.URL.Path
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// dropOldSessions keeps the sessions under maxSessions and within their TTL (c.mu held).
func (c *Console) dropOldSessions() {
	var oldest string
	for id, s := range c.sessions {
		if time.Since(s.created) > sessionTTL {
			delete(c.sessions, id)
			continue
		}
		if oldest == "" || s.created.Before(c.sessions[oldest].created) {
			oldest = id
		}
	}
	if len(c.sessions) >= maxSessions {
		delete(c.sessions, oldest)
	}
}

func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, s := range c.sessions {
		if subtle.ConstantTimeCompare([]byte(ck.Value), []byte(id)) == 1 && time.Since(s.created) <= sessionTTL {
			return s
		}
	}
	return nil
}

func (c *Console) refuse(w http.ResponseWriter, status int, msg string) {
	c.pages.refusal(w, status, msg)
}

// redact cuts the console's secrets out of s.
func (c *Console) redact(s string) string {
	for _, sec := range c.opts.Secrets {
		if len(sec) >= 4 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "•••")
		}
	}
	return s
}
