package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/peerbridge/peerbridge/internal/console/browsertest"
)

func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Step(t, ctx, what, actions...)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return browsertest.Text(t, ctx, sel)
}

func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	return browsertest.Screenshot(t, ctx, name)
}

// TestBrowser drives the console in headless Chromium against the fake source: the
// printed URL, the live list, one event, a redrive, a sandbox edit; and the refusals
// (no token, a foreign Host, a cross-site POST).
func TestBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	s := serveConsole(t)
	s.src.publish(s.src.newEvent("Role Created", "role", "Facilitator", "Jane", OutcomeDone))
	s.src.dlq = []DeadLetter{
		{Queue: QueueWebhooks, ID: "m1", DeliveryID: "dl-delivery-1", Error: "PutEvents: bus unreachable", Receives: 3, Time: time.Now()},
		{Queue: QueueEvents, ID: "a1", DeliveryID: "dl-delivery-2", Function: "EnrichFunction", Error: "PUT /v1/roles/r1: 500", Time: time.Now()},
	}
	s.src.runs = []ReconcileRun{{Started: time.Now().Add(-time.Minute), Duration: 120 * time.Millisecond, Drift: 1,
		Differences: []Difference{{EventID: "ev-0001", DetailType: "Role Created", Name: "Facilitator"}}}}

	// Refused from a foreign Host (Chromium resolves *.localhost to loopback: a DNS rebinding).
	rebound := strings.Replace(s.c.URL(), "127.0.0.1:", "rebind.localhost:", 1)
	step(t, ctx, "foreign host", chromedp.Navigate(rebound), chromedp.WaitVisible(chromedp.CSS("#refused")))
	if got := text(t, ctx, "#refused"); !strings.Contains(got, "127.0.0.1 or localhost only") {
		t.Errorf("foreign Host page: %q", got)
	}
	// Refused without the token.
	step(t, ctx, "no token", chromedp.Navigate(s.base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#refused")))
	if got := text(t, ctx, "#refused"); !strings.Contains(got, "one-time token") {
		t.Errorf("no-token page: %q", got)
	}
	screenshot(t, ctx, "refused")

	// The printed URL: a session, and the token gone from the address bar.
	step(t, ctx, "open", chromedp.Navigate(s.c.URL()), chromedp.WaitVisible(chromedp.CSS(`#events li[data-id="ev-0001"]`)))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if loc != s.base+"/console/" {
		t.Errorf("after opening the URL the browser is at %s", loc)
	}
	if ck, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie")); ck != "" {
		t.Errorf("a script can read the session cookie: %q", ck)
	}
	// The token is spent: opened again (another tab, another person), it is refused.
	step(t, ctx, "token again", chromedp.Navigate(s.base+"/console/?token=x"), chromedp.WaitVisible(chromedp.CSS("#refused")))

	// Live: events published now appear, newest first, without a reload.
	step(t, ctx, "events page", chromedp.Navigate(s.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#live`)))
	step(t, ctx, "stream open", chromedp.WaitVisible(chromedp.Search(`//small[@id="live" and text()="live"]`)))
	for i, name := range []string{"Lead Facilitator", "Scribe", "Ada Lovelace"} {
		kind, entity := "Role Updated", "role"
		if i == 2 {
			kind, entity = "Peer Created", "peer"
		}
		s.src.publish(s.src.newEvent(kind, entity, name, "Jane", []string{OutcomeDone, OutcomeDeadLettered, OutcomeIgnored}[i]))
	}
	step(t, ctx, "live rows", chromedp.WaitVisible(chromedp.CSS(`#events li[data-id="ev-0004"]`)))
	order, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#events li")).map(li => li.dataset.id)`))
	if strings.Join(order, " ") != "ev-0004 ev-0003 ev-0002 ev-0001" {
		t.Errorf("rows %v, want newest first", order)
	}
	screenshot(t, ctx, "events")
	step(t, ctx, "narrow", chromedp.EmulateViewport(390, 800))
	screenshot(t, ctx, "events-narrow")
	step(t, ctx, "wide", chromedp.EmulateViewport(1280, 800))

	// Keyboard: "/" focuses the search; a filter by outcome lists the dead-lettered one.
	step(t, ctx, "search key", chromedp.KeyEvent("/"))
	if id, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.activeElement.id")); id != "q" {
		t.Errorf("'/' focused %q, want the search box", id)
	}
	step(t, ctx, "filter", chromedp.Navigate(s.base+"/console/?outcome=dead-lettered"), chromedp.WaitVisible(chromedp.CSS(`#events li[data-id="ev-0003"]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#events li").length`)); n != 1 {
		t.Errorf("filtered rows %d, want 1", n)
	}

	// One event: text and detail side by side, changes, routing, API calls.
	step(t, ctx, "open event", chromedp.Navigate(s.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#events li[data-id="ev-0002"] a`)),
		chromedp.Click(chromedp.CSS(`#events li[data-id="ev-0002"] a`)), chromedp.WaitVisible(chromedp.CSS("#text")))
	if got := text(t, ctx, "#text"); !strings.Contains(got, "**Name:** Old Lead Facilitator → Lead Facilitator") {
		t.Errorf("text: %q", got)
	}
	if got := text(t, ctx, "#changes"); !strings.Contains(got, "Old Lead Facilitator → Lead Facilitator") {
		t.Errorf("changes: %q", got)
	}
	if got := text(t, ctx, "#actions"); !strings.Contains(got, "PUT /v1/roles/role-1") || !strings.Contains(got, "200") || !strings.Contains(got, "20.0 ms") {
		t.Errorf("actions: %q", got)
	}
	textBox, _ := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS("#text")))
	detailBox, _ := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS("#detail")))
	if textBox == nil || detailBox == nil || !(detailBox.Content[0] > textBox.Content[0]+200) {
		t.Errorf("text and detail are not side by side at 1280 px")
	}
	screenshot(t, ctx, "event")
	// Dark mode follows the system's preference.
	bg := `getComputedStyle(document.body).backgroundColor`
	light, _ := chromedp.Run(ctx, chromedp.Evaluate[string](bg))
	step(t, ctx, "dark", browsertest.ColorScheme("dark"))
	dark, _ := chromedp.Run(ctx, chromedp.Evaluate[string](bg))
	if light == dark || dark != "rgb(22, 24, 27)" {
		t.Errorf("background light %s, dark %s: not dark-mode aware", light, dark)
	}
	screenshot(t, ctx, "event-dark")
	step(t, ctx, "light", browsertest.ColorScheme("light"))

	// Dead letters: redrive one from the page; it is delivered once.
	step(t, ctx, "dlq", chromedp.Navigate(s.base+"/console/dlq"), chromedp.WaitVisible(chromedp.CSS(`#dl-m1`)))
	screenshot(t, ctx, "dlq")
	step(t, ctx, "redrive", chromedp.Click(chromedp.CSS(`#dl-m1 button`)), chromedp.WaitVisible(chromedp.CSS(".msg")))
	if got := text(t, ctx, ".msg"); got != "Redrove 1 message(s) of the webhooks dead-letter queue." {
		t.Errorf("after redrive: %q", got)
	}
	if n := s.src.delivered["dl-delivery-1"]; n != 1 {
		t.Errorf("redriven dead letter delivered %d time(s), want 1", n)
	}
	// Purge asks first.
	step(t, ctx, "purge", chromedp.Click(chromedp.CSS(`#dlq-events a.danger`)), chromedp.WaitVisible(chromedp.CSS(`input[name=confirm]`)))
	screenshot(t, ctx, "purge")
	step(t, ctx, "confirm", chromedp.SendKeys(chromedp.CSS(`input[name=confirm]`), "events"), chromedp.Submit(chromedp.CSS(`input[name=confirm]`)),
		chromedp.WaitVisible(chromedp.CSS(".msg")))
	if s.src.purges != 1 {
		t.Errorf("purges %d", s.src.purges)
	}

	step(t, ctx, "reconcile", chromedp.Navigate(s.base+"/console/reconcile"), chromedp.WaitVisible(chromedp.CSS(".run")))
	screenshot(t, ctx, "reconcile")

	// Sandbox: rename a role; its webhook's event comes on the events page.
	step(t, ctx, "sandbox", chromedp.Navigate(s.base+"/console/sandbox"), chromedp.WaitVisible(chromedp.CSS(`#roles`)))
	screenshot(t, ctx, "sandbox")
	sel := `#roles form:has(input[value="role-2"]) input[name=name]`
	step(t, ctx, "rename", chromedp.SetValue(chromedp.CSS(sel), "Chief Scribe"),
		chromedp.Submit(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(".msg")))
	step(t, ctx, "its event", chromedp.Click(chromedp.Search(`//nav/a[text()="Events"]`)),
		chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., '"Chief Scribe"')]`)))

	// A cross-site POST is refused and redrives nothing: a page on another port of
	// 127.0.0.1 (the same site, so the SameSite cookie goes along) submitting the
	// console's form, even with the right CSRF token.
	csrf := ""
	s.c.mu.Lock()
	for _, sess := range s.c.sessions {
		csrf = sess.csrf
	}
	s.c.mu.Unlock()
	evil := http.NewServeMux()
	evil.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/console/dlq/redrive"><input name="queue" value="events"><input name="csrf" value="%s"></form><script>document.getElementById("f").submit()</script>`, s.base, csrf)
	})
	eln, _ := net.Listen("tcp", "127.0.0.1:0")
	esrv := &http.Server{Handler: evil}
	go esrv.Serve(eln)
	defer esrv.Close()
	s.src.dlq = append(s.src.dlq, DeadLetter{Queue: QueueEvents, ID: "a2", DeliveryID: "dl-delivery-3"})
	step(t, ctx, "cross-site post", chromedp.Navigate("http://"+eln.Addr().String()+"/"),
		chromedp.WaitVisible(chromedp.CSS("#refused")))
	if got := text(t, ctx, "#refused"); !strings.Contains(got, "another site") {
		t.Errorf("cross-site POST page: %q", got)
	}
	if n := s.src.redrives["a2"]; n != 0 {
		t.Errorf("a cross-site POST redrove a2 %d time(s)", n)
	}
}
