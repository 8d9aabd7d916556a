package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
)

// TestConsoleStack: `peerbridge console --stack` against moto prints its URL; the console
// shows the stack's status with its tail running, its dead letters (one redriven from
// the console) and the bus's events live; on Ctrl-C it removes the tail's rule and queue.
func TestConsoleStack(t *testing.T) {
	name, outputs, ids := operateStack(t, 2)
	bus := outputs[operate.OutputEventBusName]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr servetest.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"console", "--stack", name, "--addr", "127.0.0.1:0"}, nil, &stdout, &stderr)
	}()
	urlRE := regexp.MustCompile(`console +(http://127\.0\.0\.1:\d+/console/\?token=[0-9a-f]+)`)
	var printed string
	servetest.WaitFor(t, "the console's URL", func() bool {
		m := urlRE.FindStringSubmatch(stdout.String())
		if m != nil {
			printed = m[1]
		}
		return m != nil || strings.Contains(stderr.String(), "peerbridge console:")
	})
	if printed == "" {
		t.Fatalf("no console URL; stderr: %s", stderr.String())
	}
	u, _ := url.Parse(printed)
	base := "http://" + u.Host + "/console/"
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := cl.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if resp, err := http.Get(base); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %v %v", resp, err)
	}
	resp, err := cl.Get(printed)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("opening the printed URL: %v %v", resp, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`data-csrf="([0-9a-f]+)"`).FindStringSubmatch(string(page))
	if csrf == nil {
		t.Fatal("no CSRF token on the page")
	}

	// Status, once the tail runs.
	var status string
	servetest.WaitFor(t, "the tail running", func() bool { status = get("status"); return strings.Contains(status, "tailing") })
	for _, want := range []string{name, "webhooks DLQ</th><td>2</td>"} {
		if !strings.Contains(status, want) {
			t.Errorf("status page lacks %q:\n%s", want, status)
		}
	}
	// Dead letters, one redriven.
	dlq := get("dlq")
	for _, id := range ids {
		if !strings.Contains(dlq, id) {
			t.Errorf("dead letters page lacks delivery %s", id)
		}
	}
	msgID := regexp.MustCompile(`name="queue" value="webhooks"><input type="hidden" name="id" value="([^"]+)"`).FindStringSubmatch(dlq)
	if msgID == nil {
		t.Fatalf("no redrive button:\n%s", dlq)
	}
	form := url.Values{"csrf": {csrf[1]}, "queue": {"webhooks"}, "id": {msgID[1]}}
	req, _ := http.NewRequest("POST", base+"dlq/redrive", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "Redrove+1+message") {
		t.Errorf("redrive answered %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if n := strings.Count(get("dlq"), `name="id" value=`); n != 1 {
		t.Errorf("%d dead letters left after redriving one of two", n)
	}

	// The bus's events, live.
	sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
	defer scancel()
	sreq, _ := http.NewRequestWithContext(sctx, "GET", base+"stream", nil)
	sresp, err := cl.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	putEvent(t, bus, "Role Created", "Console Role")
	br := bufio.NewReader(sresp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended before the event came: %v", err)
		}
		var row struct{ Heading string }
		if data, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(data), &row) == nil && strings.Contains(row.Heading, `"Console Role"`) {
			break
		}
	}
	scancel()

	cancel()
	if code := <-done; code != 0 {
		t.Errorf("console exited %d; stderr: %s", code, stderr.String())
	}
	if left := tailResources(t, bus); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
