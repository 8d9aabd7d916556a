package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/peerbridge/peerbridge/internal/console/browsertest"
	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

var updateDocShot = flag.Bool("update-doc-screenshot", false, "write docs/console.png from TestConsoleInBrowser")

var consoleURLRE = regexp.MustCompile(`console +(http://\S+/console/\?token=\S+)`)

// TestConsoleInBrowser is the console's done-when, in headless Chromium against a real
// serve: the URL serve prints opens it; every sample webhook kind appears live; an event
// page shows the text and the detail side by side with its routing and the action's API
// calls; a dead letter is redriven from the page and its action done once; a sandbox edit
// made on the page comes back as an event; no page shows a secret; and the console is
// refused without its token and from a foreign Host, while the admin API keeps working.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	opts := runOptions(t)
	opts.AWSAddr, opts.ReconcileEvery = "", 0
	out := &syncBuffer{}
	s, err := Start(context.Background(), opts, out, out)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	}()
	m := consoleURLRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve printed no console URL:\n%s", out.String())
	}
	printed := m[1]
	u, _ := url.Parse(printed)
	base := "http://" + u.Host + "/console/"
	secrets := []string{opts.Token, s.webhookURL[strings.LastIndex(s.webhookURL, "/")+1:], s.adminToken, s.sandbox.Config().APIKey}

	// Refused without the token, and from a foreign Host even with it; the admin API
	// still answers its bearer token.
	if resp, err := http.Get(base); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the console without a session: %v %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", printed, nil)
	req.Host = "attacker.example:" + u.Port()
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the console from a foreign Host: %v %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest("GET", "http://"+u.Host+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+s.adminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the admin API beside the console: %v %v", resp.StatusCode, err)
	}

	noSecret := func(page string) {
		t.Helper()
		html := browsertest.Eval[string](t, ctx, "document.documentElement.outerHTML")
		for _, sec := range secrets {
			if sec != "" && strings.Contains(html, sec) {
				t.Errorf("%s shows a secret (%.4s…)", page, sec)
			}
		}
	}

	browsertest.Step(t, ctx, "open the printed URL", chromedp.Navigate(printed), chromedp.WaitVisible(chromedp.CSS("#events")))
	// A dead letter first, on the fresh sandbox: onboarding's write refused on every
	// attempt; redriven from the page, the action is done once.
	s.Sandbox().InjectFault(peerdomtest.Fault{Method: http.MethodPost, Path: "/roles", Status: http.StatusBadRequest, Times: 3})
	post(t, s.webhookURL, "peer-created")
	servetest.WaitFor(t, "the events dead letter", func() bool { return len(s.DeadLetters(operate.Events)) == 1 })
	dead := s.DeadLetters(operate.Events)[0]
	browsertest.Step(t, ctx, "dead letters", chromedp.Navigate(base+"dlq"), chromedp.WaitVisible(chromedp.CSS(`#dlq-events tbody tr`)))
	browsertest.Screenshot(t, ctx, "serve-dlq")
	noSecret("the dead letters page")
	browsertest.Step(t, ctx, "redrive", chromedp.Click(chromedp.CSS(`#dlq-events tbody tr button`)), chromedp.WaitVisible(chromedp.CSS(".msg")))
	if got := browsertest.Text(t, ctx, ".msg"); got != "Redrove 1 message(s) of the events dead-letter queue." {
		t.Errorf("after the redrive: %q", got)
	}
	done := func() int {
		return len(s.Records().Filter(func(r *observe.Record) bool {
			return r.Outcome != nil && r.EventID == dead.EventID && r.Outcome.Function == "OnboardPeerFunction" && r.Outcome.Outcome == observe.Done
		}))
	}
	servetest.WaitFor(t, "the redriven action done", func() bool { return done() >= 1 })
	if err := s.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, left := done(), len(s.DeadLetters(operate.Events)); n != 1 || left != 0 {
		t.Errorf("the redriven action done %d time(s), %d dead letters left; want once and none", n, left)
	}

	// Every sample kind, as `send --kind all` posts them, appears live.
	browsertest.Step(t, ctx, "events page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.Search(`//small[@id="live" and text()="live"]`)))
	delivery := map[string]string{}
	for _, kind := range webhooksamples.Kinds() {
		delivery[kind] = post(t, s.webhookURL, kind)
	}
	for kind, id := range delivery {
		browsertest.Step(t, ctx, kind+" live", chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., '[delivery `+id[:8]+`]')]`)))
	}
	// The role's event, once its actions are done.
	row := `//ol[@id="events"]/li[contains(., '[delivery ` + delivery["role-created"][:8] + `]')]`
	browsertest.Step(t, ctx, "role-created done", chromedp.WaitVisible(chromedp.Search(row+`//span[contains(@class, "o-done")]`)))
	browsertest.Screenshot(t, ctx, "serve-events")
	noSecret("the events page")
	browsertest.Step(t, ctx, "open the event", chromedp.Click(chromedp.Search(row+`/a`)), chromedp.WaitVisible(chromedp.CSS("#text")))
	if got := browsertest.Text(t, ctx, "#text"); !strings.Contains(got, "was created") || !strings.Contains(got, "**Name:** Facilitator") {
		t.Errorf("the event's text: %q", got)
	}
	if got := browsertest.Text(t, ctx, "#fields"); !strings.Contains(got, "Facilitator") {
		t.Errorf("the event's fields: %q", got)
	}
	if got := browsertest.Text(t, ctx, "#delivery"); got != delivery["role-created"] {
		t.Errorf("delivery id %q, want %q", got, delivery["role-created"])
	}
	actions := browsertest.Text(t, ctx, "#actions")
	if !strings.Contains(actions, "RoleDefaultsFunction") || !regexp.MustCompile(`PUT /v1/roles/`+webhooksamples.RoleID+`\S*\s+200`).MatchString(actions) {
		t.Errorf("the role defaults' API calls: %q", actions)
	}
	if got := browsertest.Text(t, ctx, "main"); !strings.Contains(got, "Rule RoleCreated → RoleDefaultsFunction") {
		t.Errorf("routing: %q", got)
	}
	png := browsertest.Screenshot(t, ctx, "serve-event")
	if *updateDocShot {
		if err := os.WriteFile(filepath.Join(browsertest.RepoRoot(t), "docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noSecret("the event page")

	// The sandbox: rename the role on the page; its webhook comes back as an event.
	browsertest.Step(t, ctx, "sandbox", chromedp.Navigate(base+"sandbox"), chromedp.WaitVisible(chromedp.CSS("#roles")))
	browsertest.Screenshot(t, ctx, "serve-sandbox")
	noSecret("the sandbox page")
	name := `#roles form:has(input[value="` + webhooksamples.RoleID + `"]) input[name=name]`
	browsertest.Step(t, ctx, "rename the role", chromedp.SetValue(chromedp.CSS(name), "Chief Facilitator"),
		chromedp.Submit(chromedp.CSS(name)), chromedp.WaitVisible(chromedp.CSS(".msg")))
	browsertest.Step(t, ctx, "its event", chromedp.Click(chromedp.Search(`//nav/a[text()="Events"]`)),
		chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., 'Role Updated') and contains(., '"Chief Facilitator"')]`)))

	for _, page := range []string{"reconcile", "status"} {
		browsertest.Step(t, ctx, page, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS("h1")))
		browsertest.Screenshot(t, ctx, "serve-"+page)
		noSecret("the " + page + " page")
	}
}

// post sends the sample webhook of kind and returns its delivery id.
func post(t *testing.T, webhookURL, kind string) string {
	t.Helper()
	body, _ := webhooksamples.Body(kind)
	resp, err := http.Post(webhookURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ans struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(raw, &ans) != nil || len(ans.ID) < 8 {
		t.Fatalf("%s: %d %s", kind, resp.StatusCode, raw)
	}
	return ans.ID
}
