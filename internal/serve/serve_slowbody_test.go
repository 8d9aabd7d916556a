package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// 512 senders that never finish their bodies, to a wrong token, an unknown path or with
// a wrong method, are each answered (401, 404, 405) before they have sent their body,
// and their connections closed: a valid webhook is then answered while all 512 still
// hold their side open. The server's read timeout is set to 10 minutes, so a server that
// read those bodies first (or kept their connections to read them after answering)
// would hold all 512 connection slots and never answer the valid webhook in time.
func TestServeRefusesBeforeReadingTheBody(t *testing.T) {
	t.Setenv(AdminDirEnv, t.TempDir())
	out := &syncBuffer{}
	s, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "good-token",
		Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "error", NoActions: true,
		Timeouts: ServerTimeouts{Read: 10 * time.Minute, ReadHeader: 10 * time.Minute}}, out, out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	addr := strings.TrimPrefix(strings.Split(s.webhookURL, "/webhooks/")[0], "http://")

	const n = DefaultMaxConns
	type result struct {
		want, status int
		closed       bool
		err          error
	}
	results := make(chan result, n)
	release := make(chan struct{})
	requests := []struct {
		method, path string
		want         int
	}{
		{"POST", "/webhooks/wrong-token", http.StatusUnauthorized},
		{"POST", "/elsewhere", http.StatusNotFound},
		{"PUT", "/webhooks/good-token", http.StatusMethodNotAllowed},
	}
	for i := range n {
		rq := requests[i%len(requests)]
		go func() {
			res := result{want: rq.want}
			defer func() { results <- res }()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				res.err = err
				return
			}
			defer func() { go func() { <-release; c.Close() }() }()
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			// The headers and the body's first bytes; the other 99,990 never come.
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"text\":\"", rq.method, rq.path, addr)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				res.err = err
				return
			}
			res.status = resp.StatusCode
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			_, err = br.ReadByte() // the server closed the connection after its answer
			res.closed = err == io.EOF
		}()
	}
	counts := map[int]int{}
	for range n {
		r := <-results
		if r.err != nil || r.status != r.want || !r.closed {
			t.Errorf("slow sender: status %d (want %d), connection closed by serve: %v, error %v", r.status, r.want, r.closed, r.err)
		}
		counts[r.status]++
	}
	if counts[401]+counts[404]+counts[405] != n {
		t.Errorf("answers %v, want %d refusals", counts, n)
	}
	// All 512 still hold their side open (release is not closed): a valid webhook gets in.
	client := &http.Client{Timeout: time.Minute}
	start := time.Now()
	resp, err := client.Post(s.webhookURL, "application/json", strings.NewReader(`{"text":"**Test** webhook"}`))
	if err != nil {
		t.Fatalf("the valid webhook, with %d slow senders open: %v", n, err)
	}
	resp.Body.Close()
	t.Logf("the valid webhook was answered in %s with %d slow senders open (a figure, not asserted)", time.Since(start), n)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the valid webhook: %s", resp.Status)
	}
	close(release)
}
