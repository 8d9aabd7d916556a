package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testSecret = "pdk_live_SECRET_api_key_1234"

// served is a console over a fake, served on a loopback port.
type served struct {
	c    *Console
	src  *fake
	base string // http://127.0.0.1:PORT
	addr string
}

func serveConsole(t *testing.T) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	src := newFake(testSecret)
	c, err := New(src, Options{Addr: ln.Addr().String(), Secrets: []string{testSecret, "webhook-token-XYZ"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &served{c: c, src: src, base: "http://" + ln.Addr().String(), addr: ln.Addr().String()}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// login opens the printed URL with a fresh cookie jar, as a browser would, and returns
// the client holding the session and the page's CSRF token.
func (s *served) login(t *testing.T) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	u := s.c.URL()
	if u == "" {
		t.Fatal("no console URL: the token was spent")
	}
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("opening %s: %d %s", u, resp.StatusCode, body)
	}
	if resp.Request.URL.Query().Get("token") != "" {
		t.Fatalf("the browser was left on a URL with the token: %s", resp.Request.URL)
	}
	return cl, csrfOf(t, string(body))
}

var csrfRe = regexp.MustCompile(`data-csrf="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func get(t *testing.T, cl *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNewRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:3003", ":3003", "192.168.1.2:3003", "example.com:3003", "[::]:3003", "nonsense"} {
		if _, err := New(newFake(""), Options{Addr: addr}); err == nil {
			t.Errorf("New(%q) accepted a non-loopback address", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:3003", "localhost:3003", "[::1]:3003"} {
		if _, err := New(newFake(""), Options{Addr: addr}); err != nil {
			t.Errorf("New(%q): %v", addr, err)
		}
	}
}

func TestRefusedWithoutToken(t *testing.T) {
	s := serveConsole(t)
	s.src.publish(s.src.newEvent("Role Updated", "role", "Lead Facilitator", "Jane", OutcomeDone))
	for _, p := range []string{"/console/", "/console/event/ev-0001", "/console/dlq", "/console/sandbox", "/console/reconcile", "/console/stream"} {
		code, body := get(t, http.DefaultClient, s.base+p)
		if code != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %d, want 401", p, code)
		}
		if strings.Contains(body, "Lead Facilitator") || strings.Contains(body, "data-csrf=\"") && !strings.Contains(body, `data-csrf=""`) {
			t.Errorf("GET %s without a session showed data:\n%s", p, body)
		}
	}
	code, _ := get(t, http.DefaultClient, s.base+"/console/?token=wrong")
	if code != http.StatusForbidden {
		t.Errorf("a wrong token: %d, want 403", code)
	}
	// The wrong attempt did not spend the real token.
	cl, _ := s.login(t)
	if code, body := get(t, cl, s.base+"/console/"); code != 200 || !strings.Contains(body, "Lead Facilitator") {
		t.Errorf("after login: %d\n%s", code, body)
	}
}

func TestTokenIsSpentForASession(t *testing.T) {
	s := serveConsole(t)
	u := s.c.URL()
	cl := &http.Client{CheckRedirect: noRedirect}
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("exchange: %d to %q, want 303 to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	ck := cookies[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != Prefix || ck.Value == "" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=%s", ck, Prefix)
	}
	if strings.Contains(u, ck.Value) {
		t.Error("the session id is the token")
	}
	// The token no longer works, in any browser.
	resp2, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusForbidden || len(resp2.Cookies()) != 0 {
		t.Errorf("the token a second time: %d, cookies %v; want 403 and none", resp2.StatusCode, resp2.Cookies())
	}
	if s.c.URL() != "" {
		t.Errorf("URL() after the exchange: %q, want empty", s.c.URL())
	}
	// The session works; a made-up one does not.
	req, _ := http.NewRequest("GET", s.base+"/console/", nil)
	req.AddCookie(ck)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Errorf("with the session: %v %v", r, err)
	}
	req, _ = http.NewRequest("GET", s.base+"/console/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: ck.Value + "x"})
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Errorf("with a made-up session: %v %v", r.StatusCode, err)
	}
	// NewToken gives a new one-time URL.
	if u2 := s.c.NewToken(); u2 == "" || u2 == u {
		t.Errorf("NewToken: %q", u2)
	}
}

func TestForeignHostRefused(t *testing.T) {
	s := serveConsole(t)
	_, port, _ := net.SplitHostPort(s.addr)
	for _, host := range []string{"attacker.example:" + port, "attacker.example", "127.0.0.1:1", "localhost", "127.0.0.2:" + port} {
		req, _ := http.NewRequest("GET", s.c.URL(), nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("Host %s: %d, cookies %v; want 403 and none", host, resp.StatusCode, resp.Cookies())
		}
	}
	// The refused requests did not spend the token; localhost:PORT is the console too.
	cl, _ := s.login(t)
	if code, _ := get(t, cl, "http://localhost:"+port+"/console/"); code != http.StatusUnauthorized {
		// The cookie is 127.0.0.1's, so localhost has no session (but is not refused as a foreign host).
		t.Errorf("localhost:PORT without its cookie: %d, want 401", code)
	}
}

func TestForeignClientRefused(t *testing.T) {
	s := serveConsole(t)
	for _, remote := range []string{"10.0.0.1:5555", "192.168.1.9:5555", "[2001:db8::1]:5555"} {
		req, _ := http.NewRequest("GET", s.c.URL(), nil)
		req.RemoteAddr = remote
		req.Host = s.addr
		w := &recorder{h: http.Header{}}
		s.c.ServeHTTP(w, req)
		if w.code != http.StatusForbidden {
			t.Errorf("from %s: %d, want 403", remote, w.code)
		}
	}
	if s.c.URL() == "" {
		t.Error("a refused client spent the token")
	}
}

type recorder struct {
	h    http.Header
	code int
	b    strings.Builder
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.b.Write(b)
}
func (r *recorder) WriteHeader(c int) { r.code = c }

func post(t *testing.T, cl *http.Client, u string, form url.Values, hdr map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := *cl
	c.CheckRedirect = noRedirect
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStateChangesNeedCSRFAndSameOrigin(t *testing.T) {
	s := serveConsole(t)
	s.src.dlq = []DeadLetter{{Queue: QueueWebhooks, ID: "m1", DeliveryID: "d1", Error: "bus down"}, {Queue: QueueWebhooks, ID: "m2", DeliveryID: "d2"}}
	cl, csrf := s.login(t)
	u := s.base + "/console/dlq/redrive"
	self := map[string]string{"Origin": s.base}
	cases := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no CSRF token", url.Values{"queue": {"webhooks"}, "id": {"m1"}}, self},
		{"a wrong CSRF token", url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf + "x"}}, self},
		{"cross-site Origin", url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, map[string]string{"Origin": "http://attacker.example"}},
		{"another port's Origin", url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, map[string]string{"Origin": "http://127.0.0.1:1"}},
		{"cross-site fetch", url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site fetch", url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign Referer", url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, map[string]string{"Referer": "http://attacker.example/x"}},
	}
	for _, tc := range cases {
		if code := post(t, cl, u, tc.form, tc.hdr); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, code)
		}
	}
	// Without the session cookie, even with the CSRF token.
	if code := post(t, &http.Client{}, u, url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, self); code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", code)
	}
	// A GET changes nothing.
	if code, _ := get(t, cl, u+"?queue=webhooks&id=m1&csrf="+csrf); code != http.StatusNotFound {
		t.Errorf("GET redrive: %d, want 404", code)
	}
	if n := s.src.redrives["m1"]; n != 0 {
		t.Fatalf("a refused request redrove m1 %d time(s)", n)
	}
	if code := post(t, cl, u, url.Values{"queue": {"webhooks"}, "id": {"m1"}, "csrf": {csrf}}, self); code != http.StatusSeeOther {
		t.Fatalf("the page's own POST: %d, want 303", code)
	}
	if s.src.redrives["m1"] != 1 || s.src.redrives["m2"] != 0 {
		t.Errorf("redrives %v, want m1 once", s.src.redrives)
	}
}

// noInline finds what a strict CSP would block in a page: inline scripts, event handler
// attributes, style attributes and elements, and references to other origins.
var noInline = regexp.MustCompile(`(?i)\son[a-z]+=|\sstyle=|<style|(?:src|href|action)="(?:https?:)?//|javascript:`)

// scriptTag is every script element; each must load a file and hold nothing.
var scriptTag = regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)

func TestPagesStrictAndSecretFree(t *testing.T) {
	s := serveConsole(t)
	s.src.publish(s.src.newEvent("Role Updated", "role", "Lead Facilitator", "Jane", OutcomeDone))
	s.src.publish(s.src.newEvent("Role Updated", "role", "Broken "+testSecret, "Jane", OutcomeDeadLettered))
	s.src.dlq = []DeadLetter{{Queue: QueueEvents, ID: "a1", Function: "RoleDefaultsFunction", Error: "401 with key " + testSecret, Body: `{"token":"webhook-token-XYZ"}`}}
	s.src.runs = []ReconcileRun{{Started: time.Now(), Drift: 2, Error: "key " + testSecret + " refused"}}
	cl, _ := s.login(t)
	for _, p := range []string{"/console/", "/console/event/ev-0001", "/console/event/ev-0002", "/console/dlq", "/console/dlq/purge?queue=events", "/console/reconcile", "/console/sandbox", "/console/nope"} {
		resp, err := cl.Get(s.base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if got := resp.Header.Get("Content-Security-Policy"); got != csp || !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe") {
			t.Errorf("%s: CSP %q", p, got)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", p, resp.Header)
		}
		if m := noInline.FindString(body); m != "" {
			t.Errorf("%s: %q breaks the strict CSP", p, m)
		}
		if strings.Count(strings.ToLower(body), "<script") != len(scriptTag.FindAllString(body, -1)) {
			t.Errorf("%s: a script element is not closed", p)
		}
		for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], ` src="/console/static/`) || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline script %q", p, m[0])
			}
		}
		for _, sec := range []string{testSecret, "webhook-token-XYZ"} {
			if strings.Contains(body, sec) {
				t.Errorf("%s shows the secret %s", p, sec)
			}
		}
	}
	// The live stream too.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/console/stream", nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows := readRows(t, bufio.NewReader(resp.Body), 2)
	for _, r := range rows {
		if strings.Contains(r.Heading, testSecret) {
			t.Errorf("stream row shows the secret: %+v", r)
		}
	}
}

// readRows reads n rows from a live stream.
func readRows(t *testing.T, br *bufio.Reader, n int) []row {
	t.Helper()
	var rows []row
	for len(rows) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %d rows: %v", len(rows), err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var r row
			if err := json.Unmarshal([]byte(data), &r); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func TestEventsFilter(t *testing.T) {
	s := serveConsole(t)
	s.src.publish(s.src.newEvent("Role Updated", "role", "Lead Facilitator", "Jane", OutcomeDone))
	s.src.publish(s.src.newEvent("Peer Created", "peer", "Ada Lovelace", "Ops", OutcomeIgnored))
	s.src.publish(s.src.newEvent("Group Deleted", "group", "Research", "Jane", OutcomeDeadLettered))
	s.src.publish(s.src.newEvent("Unrecognized Message", "", "", "", ""))
	cl, _ := s.login(t)
	cases := map[string][]string{
		"":                        {"Unrecognized Message", "Research", "Ada Lovelace", "Lead Facilitator"},
		"kind=Peer+Created":       {"Ada Lovelace"},
		"entity=role":             {"Lead Facilitator"},
		"author=jane":             {"Research", "Lead Facilitator"},
		"outcome=dead-lettered":   {"Research"},
		"outcome=none":            {"Unrecognized Message"},
		"q=lovelace":              {"Ada Lovelace"},
		"q=delivery-0001":         {"Lead Facilitator"},
		"author=jane&entity=peer": {},
	}
	li := regexp.MustCompile(`<li id="ev-[^"]+"[^>]*>.*?<code>([^<]*)</code>`)
	for q, want := range cases {
		_, body := get(t, cl, s.base+"/console/?"+q)
		var got []string
		for _, m := range li.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if len(got) != len(want) {
			t.Errorf("?%s: rows %q, want %q", q, got, want)
			continue
		}
		for i := range want {
			if !strings.Contains(got[i], want[i]) {
				t.Errorf("?%s: row %d %q, want %q (newest first)", q, i, got[i], want[i])
			}
		}
	}
}

func TestStreamLiveFilteredAndCatchesUp(t *testing.T) {
	s := serveConsole(t)
	first := s.src.newEvent("Role Updated", "role", "Before the page", "Jane", OutcomeDone)
	s.src.publish(first)
	cl, _ := s.login(t)
	_, page := get(t, cl, s.base+"/console/?entity=role")
	m := regexp.MustCompile(`data-stream="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no stream URL on the page")
	}
	streamURL := strings.ReplaceAll(m[1], "&amp;", "&")
	// Published between the page and the stream: the stream must still send it.
	between := s.src.newEvent("Role Created", "role", "Between", "Jane", OutcomeRunning)
	s.src.publish(between)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+streamURL, nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream content type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	if r := readRows(t, br, 1)[0]; r.ID != between.ID || r.Outcome != OutcomeRunning {
		t.Fatalf("first row %+v, want %s (published after the page)", r, between.ID)
	}
	// Subscribed now: a peer event is filtered out, a role event comes, an update replaces.
	// The stream subscribed before it sent its first row, so these come live.
	s.src.publish(s.src.newEvent("Peer Created", "peer", "Not a role", "Jane", OutcomeDone))
	live := s.src.newEvent("Role Deleted", "role", "Live one", "Jane", OutcomeRunning)
	s.src.publish(live)
	if r := readRows(t, br, 1)[0]; r.ID != live.ID || !strings.Contains(r.Heading, `"Live one"`) || r.Href != "/console/event/"+live.ID {
		t.Fatalf("live row %+v", r)
	}
	between.Actions[0].Outcome = OutcomeDone
	s.src.publish(between)
	if r := readRows(t, br, 1)[0]; r.ID != between.ID || r.Outcome != OutcomeDone || r.Hide {
		t.Fatalf("update row %+v", r)
	}
	// A role event that stops matching the filter (here: by changing entity) is hidden.
	live.Detail = json.RawMessage(strings.Replace(string(live.Detail), `"entity":"role"`, `"entity":"peer"`, 1))
	s.src.publish(live)
	if r := readRows(t, br, 1)[0]; r.ID != live.ID || !r.Hide {
		t.Fatalf("row that no longer matches %+v, want hidden", r)
	}
	cancel()
	resp.Body.Close()
}

func TestEventPageShowsTextDetailRoutingAndCalls(t *testing.T) {
	s := serveConsole(t)
	ev := s.src.newEvent("Role Updated", "role", "Lead Facilitator", "Jane", OutcomeDone)
	s.src.publish(ev)
	cl, csrf := s.login(t)
	code, body := get(t, cl, s.base+"/console/event/"+ev.ID)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{
		`<pre id="text" class="md">**[Role](https://app.peerdom.org/acme/map/m/role/r)** was updated`,
		`<del>Old Lead Facilitator</del> → <ins>Lead Facilitator</ins>`,
		`<ins>+ Moderation</ins>`, `<del>− Note taking</del>`,
		`<code id="delivery">delivery-0001-roleupdated</code>`,
		`Rule <strong>RoleDefaultsRule</strong> → RoleDefaultsFunction; its pattern tested <code>source</code>, <code>detail-type</code>`,
		`<code>GET /v1/roles/role-1</code></td><td class="st">200</td><td>12.0 ms</td>`,
		`<code>PUT /v1/roles/role-1</code>`, `&#34;purpose&#34;: &#34;set by peerbridge&#34;`,
		`RoleDefaultsFunction <span class="outcome o-done">done</span>`,
		`&#34;changedFields&#34;: [`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("event page lacks %s", want)
		}
	}
	if code := post(t, cl, s.base+"/console/event/"+ev.ID+"/replay", url.Values{"rule": {"OnboardPeerRule"}, "csrf": {csrf}}, nil); code != http.StatusSeeOther {
		t.Fatalf("replay: %d", code)
	}
	if len(s.src.replays) != 1 || s.src.replays[0] != ev.ID+" OnboardPeerRule" {
		t.Errorf("replays %v", s.src.replays)
	}
	if code, _ := get(t, cl, s.base+"/console/event/no-such"); code != 404 {
		t.Errorf("unknown event: %d", code)
	}
}

func TestDeadLettersRedriveAndPurge(t *testing.T) {
	s := serveConsole(t)
	s.src.dlq = []DeadLetter{
		{Queue: QueueWebhooks, ID: "m1", DeliveryID: "d1", Error: "bus refused the entry"},
		{Queue: QueueWebhooks, ID: "m2", DeliveryID: "d2", Error: "bus refused the entry"},
		{Queue: QueueEvents, ID: "a1", DeliveryID: "d3", Function: "EnrichFunction", Error: "PUT /roles/x: 500"},
	}
	cl, csrf := s.login(t)
	_, body := get(t, cl, s.base+"/console/dlq")
	for _, want := range []string{`id="dl-m1"`, `bus refused the entry`, `EnrichFunction`, `PUT /roles/x: 500`, `Webhooks that failed every attempt <small>(2)</small>`} {
		if !strings.Contains(body, want) {
			t.Errorf("dlq page lacks %s", want)
		}
	}
	post(t, cl, s.base+"/console/dlq/redrive", url.Values{"queue": {"webhooks"}, "id": {"m2"}, "csrf": {csrf}}, nil)
	if s.src.delivered["d2"] != 1 || s.src.redrives["m1"] != 0 {
		t.Fatalf("after redriving m2: delivered %v redrives %v", s.src.delivered, s.src.redrives)
	}
	// Purge: the confirmation page first; a POST without the typed name purges nothing.
	_, body = get(t, cl, s.base+"/console/dlq/purge?queue=webhooks")
	if !strings.Contains(body, "This deletes its 1 message(s) for good") {
		t.Errorf("purge confirmation:\n%s", body)
	}
	post(t, cl, s.base+"/console/dlq/purge", url.Values{"queue": {"webhooks"}, "csrf": {csrf}}, nil)
	if s.src.purges != 0 {
		t.Fatal("purged without the confirmation")
	}
	post(t, cl, s.base+"/console/dlq/purge", url.Values{"queue": {"webhooks"}, "confirm": {"webhooks"}, "csrf": {csrf}}, nil)
	dl, _ := s.src.DeadLetters(context.Background())
	if s.src.purges != 1 || len(dl) != 1 || dl[0].ID != "a1" {
		t.Errorf("after purge: %d purges, left %v", s.src.purges, dl)
	}
	// Redrive all of the actions queue.
	post(t, cl, s.base+"/console/dlq/redrive", url.Values{"queue": {"events"}, "csrf": {csrf}}, nil)
	if s.src.delivered["d3"] != 1 || s.src.delivered["d1"] != 0 {
		t.Errorf("after redrive all: %v", s.src.delivered)
	}
}

func TestSandboxEditAndSample(t *testing.T) {
	s := serveConsole(t)
	cl, csrf := s.login(t)
	_, body := get(t, cl, s.base+"/console/sandbox")
	for _, want := range []string{"Facilitator", "Scribe", "Research", "Ada Lovelace", `<option>role-updated</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("sandbox page lacks %s", want)
		}
	}
	post(t, cl, s.base+"/console/sandbox/edit", url.Values{"op": {"rename-role"}, "id": {"role-2"}, "name": {"Chief Scribe"}, "csrf": {csrf}}, nil)
	post(t, cl, s.base+"/console/sandbox/edit", url.Values{"op": {"add-peer"}, "firstName": {"Grace"}, "lastName": {"Hopper"}, "csrf": {csrf}}, nil)
	post(t, cl, s.base+"/console/sandbox/edit", url.Values{"op": {"drop-table"}, "csrf": {csrf}}, nil)
	post(t, cl, s.base+"/console/sandbox/send", url.Values{"kind": {"peer-created"}, "csrf": {csrf}}, nil)
	post(t, cl, s.base+"/console/sandbox/send", url.Values{"kind": {"../etc"}, "csrf": {csrf}}, nil)
	if len(s.src.edits) != 2 || s.src.edits[0].Name != "Chief Scribe" || s.src.edits[1].FirstName != "Grace" {
		t.Errorf("edits %+v", s.src.edits)
	}
	evs := s.src.Events()
	if len(evs) != 3 {
		t.Fatalf("events %d, want 3 (two edits, one sample)", len(evs))
	}
	_, body = get(t, cl, s.base+"/console/")
	if !strings.Contains(body, `&#34;Chief Scribe&#34;`) || !strings.Contains(body, `&#34;Sample peer-created&#34;`) {
		t.Errorf("events page lacks the edit's and the sample's events:\n%s", body)
	}
}

func TestStreamsBounded(t *testing.T) {
	s := serveConsole(t)
	s.c.streams = make(chan struct{}, 1)
	cl, _ := s.login(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/console/stream", nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if code, _ := get(t, cl, s.base+"/console/stream"); code != http.StatusServiceUnavailable {
		t.Errorf("a second stream over the bound: %d, want 503", code)
	}
	cancel()
	resp.Body.Close()
	// The stream's end gives back its slot and its subscription.
	deadline := time.Now().Add(10 * time.Second)
	for s.src.subscribers() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.src.subscribers(); n != 0 {
		t.Errorf("%d subscriptions left after the stream ended", n)
	}
}

type statusFake struct{ *fake }

func (statusFake) Status(context.Context) (Status, error) {
	return Status{Sections: []StatusSection{{Title: "Queues", Rows: []StatusRow{{Name: "webhooks DLQ", Value: "3", Bad: true}, {Name: "webhooks", Value: "0"}}}}}, nil
}

func TestStatusPage(t *testing.T) {
	s := serveConsole(t)
	cl, _ := s.login(t)
	if _, body := get(t, cl, s.base+"/console/"); strings.Contains(body, `href="/console/status"`) {
		t.Error("a source without status has a Status link")
	}
	s.c.src = statusFake{s.src}
	_, body := get(t, cl, s.base+"/console/")
	if !strings.Contains(body, `href="/console/status"`) {
		t.Error("no Status link")
	}
	_, body = get(t, cl, s.base+"/console/status")
	if !strings.Contains(body, `<tr class="bad"><th scope="row">webhooks DLQ</th><td>3</td></tr>`) {
		t.Errorf("status page:\n%s", body)
	}
}

// TestStreamCatchesUpAfterLoss: a stream told it missed updates sends the events
// published since its newest row.
func TestStreamCatchesUpAfterLoss(t *testing.T) {
	s := serveConsole(t)
	cl, _ := s.login(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/console/stream", nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := s.src.newEvent("Role Created", "role", "One", "Jane", OutcomeDone)
	s.src.publish(first)
	if r := readRows(t, br, 1)[0]; r.ID != first.ID {
		t.Fatalf("row %+v", r)
	}
	// Two events the subscriber missed, then the loss is told.
	missed := []Event{s.src.newEvent("Role Created", "role", "Two", "Jane", OutcomeDone), s.src.newEvent("Role Created", "role", "Three", "Jane", OutcomeDone)}
	s.src.mu.Lock()
	s.src.events = append(s.src.events, missed...)
	s.src.mu.Unlock()
	s.src.publishRaw(Event{})
	rows := readRows(t, br, 2)
	if rows[0].ID != missed[0].ID || rows[1].ID != missed[1].ID {
		t.Errorf("caught up with %+v, want %s and %s", rows, missed[0].ID, missed[1].ID)
	}
}
