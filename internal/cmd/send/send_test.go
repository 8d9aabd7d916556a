package send

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

const secretToken = "tok-s3cr3t"

// webhookServer is a stand-in for the ingest endpoint: it records each request and
// answers as ingest does, 200 {"id": …} (or what answer says).
type webhookServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	answer   func(w http.ResponseWriter, r *http.Request)
}

type recorded struct {
	method, escapedPath, contentType string
	body                             []byte
}

// runSend runs send's command line, parsing included, with this process's environment.
func runSend(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, os.Getenv, args)
	return code, out.String(), errOut.String()
}

// run runs send with opts (a 10 s timeout).
func run(opts Options) (int, string, string) {
	var out, errOut bytes.Buffer
	opts.IO = cmdutil.IOStreams{Out: &out, ErrOut: &errOut}
	opts.Timeout = 10 * time.Second
	code := Run(context.Background(), &opts)
	return code, out.String(), errOut.String()
}

func newWebhookServer(t *testing.T) *webhookServer {
	s := &webhookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, recorded{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), body})
		n := len(s.requests)
		answer := s.answer
		s.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": "delivery-" + string(rune('a'+n-1))})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *webhookServer) got() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

func TestSendAllKinds(t *testing.T) {
	srv := newWebhookServer(t)
	code, out, errOut := run(Options{Endpoint: Endpoint{prefix: srv.URL + "/webhooks/", token: secretToken}, Kinds: webhooksamples.Kinds()})
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	kinds := webhooksamples.Kinds()
	reqs := srv.got()
	if len(reqs) != len(kinds) {
		t.Fatalf("server got %d requests, want %d", len(reqs), len(kinds))
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(kinds) {
		t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(kinds), out)
	}
	for i, kind := range kinds {
		r := reqs[i]
		if r.method != http.MethodPost || r.escapedPath != "/webhooks/"+secretToken || r.contentType != "application/json" {
			t.Errorf("%s: %s %s (%s)", kind, r.method, r.escapedPath, r.contentType)
		}
		want, _ := webhooksamples.Body(kind)
		if string(r.body) != string(want) {
			t.Errorf("%s: body %s, want %s", kind, r.body, want)
		}
		// The body is what ingest accepts, and it parses to the kind's detail-type.
		w, err := peerdom.DecodeWebhook(r.body)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		wantType := peerdom.DetailTypes()[i]
		d := peerdom.Parse(w.Text)
		if got := d.DetailType(); got != wantType {
			t.Errorf("%s: sent text parses to %q, want %q", kind, got, wantType)
		}
		wantLine := kind + `: 200 OK {"id":"delivery-` + string(rune('a'+i)) + `"}`
		if lines[i] != wantLine {
			t.Errorf("line %d = %q, want %q", i, lines[i], wantLine)
		}
	}
	if strings.Contains(out+errOut, secretToken) {
		t.Error("the token was printed")
	}
}

func TestSendDefaultKindIsTest(t *testing.T) {
	t.Setenv(TokenEnv, secretToken)
	srv := newWebhookServer(t)
	code, out, errOut := runSend(t, "--url", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	reqs := srv.got()
	want, _ := webhooksamples.Body(webhooksamples.Test)
	if len(reqs) != 1 || string(reqs[0].body) != string(want) {
		t.Fatalf("requests %+v, want one Test message", reqs)
	}
	if !strings.HasPrefix(out, "test: 200 OK ") {
		t.Errorf("stdout %q", out)
	}
}

func TestSendURLAndToken(t *testing.T) {
	srv := newWebhookServer(t)
	cases := []struct {
		name, url, flagToken, envToken, wantPath string
	}{
		{"token from the flag", srv.URL, "flag-token", "env-token", "/webhooks/flag-token"},
		{"token from the environment", srv.URL, "", "env-token", "/webhooks/env-token"},
		{"token in the URL", srv.URL + "/webhooks/url-token", "", "env-token", "/webhooks/url-token"},
		{"token in the URL and the same flag", srv.URL + "/webhooks/url-token/", "url-token", "", "/webhooks/url-token"},
		{"URL ending in /webhooks", srv.URL + "/webhooks", "t1", "", "/webhooks/t1"},
		{"URL ending in /webhooks/", srv.URL + "/webhooks/", "t1", "", "/webhooks/t1"},
		{"base path", srv.URL + "/prod/", "t2", "", "/prod/webhooks/t2"},
		{"token escaped", srv.URL, "a/b c", "", "/webhooks/a%2Fb%20c"},
		{"escaped token in the URL", srv.URL + "/webhooks/a%2Fb", "a/b", "", "/webhooks/a%2Fb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(TokenEnv, c.envToken)
			before := len(srv.got())
			args := []string{"--url", c.url}
			if c.flagToken != "" {
				args = append(args, "--token", c.flagToken)
			}
			code, _, errOut := runSend(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			reqs := srv.got()[before:]
			if len(reqs) != 1 || reqs[0].escapedPath != c.wantPath {
				t.Fatalf("requests %+v, want one to %s", reqs, c.wantPath)
			}
		})
	}
}

func TestSendUsageErrors(t *testing.T) {
	cases := []struct {
		name     string
		env      string
		args     []string
		wantErrs []string
	}{
		{"no token", "", nil, []string{"no webhook token", "--token", TokenEnv}},
		{"two tokens", "", []string{"--url", "http://127.0.0.1:1/webhooks/a", "--token", "b"}, []string{"give the token once"}},
		{"unknown kind", "t", []string{"--kind", "role-renamed"}, []string{`unknown kind "role-renamed"`, "peer-deleted", "all"}},
		{"one unknown in a list", "t", []string{"--kind", "role-created,nope"}, []string{`unknown kind "nope"`}},
		{"not http", "t", []string{"--url", "ftp://example.com"}, []string{"not an http:// or https:// URL"}},
		{"query", "t", []string{"--url", "http://example.com/?x=1"}, []string{"query"}},
		{"argument", "t", []string{"role-created"}, []string{"unexpected argument", "--kind"}},
		{"bad flag", "t", []string{"--nope"}, []string{"flag provided but not defined"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(TokenEnv, c.env)
			code, out, errOut := runSend(t, c.args...)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			for _, w := range c.wantErrs {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
	code, out, _ := runSend(t, "-h")
	if code != 0 || !strings.Contains(out, "usage: peerbridge send") || !strings.Contains(out, "group-updated") {
		t.Errorf("send -h: exit %d, stdout %q", code, out)
	}
}

func TestSendReportsServerErrors(t *testing.T) {
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		want   string
	}{
		{"ingest error", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"missing or wrong webhook token in the URL (/webhooks/{token})"}`)
		}, "role-created: 401 Unauthorized: missing or wrong webhook token in the URL (/webhooks/{token})"},
		{"API Gateway error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
		}, "role-created: 404 Not Found: Not Found"},
		{"plain text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "upstream\nbroke\n")
		}, "role-created: 502 Bad Gateway: upstream broke"},
		{"no body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, "role-created: 503 Service Unavailable: (no answer body)"},
		{"redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.invalid/", http.StatusTemporaryRedirect)
		}, "role-created: 307 Temporary Redirect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newWebhookServer(t)
			srv.answer = c.answer
			code, out, errOut := run(Options{Endpoint: Endpoint{prefix: srv.URL + "/webhooks/", token: secretToken}, Kinds: []string{"role-created", "peer-created"}})
			if code != 1 {
				t.Fatalf("exit %d, want 1 (stderr %q)", code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q lacks %q", errOut, c.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if n := len(srv.got()); n != 1 {
				t.Errorf("%d requests; sending should stop at the first failure", n)
			}
			if strings.Contains(out+errOut, secretToken) {
				t.Error("the token was printed")
			}
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv(TokenEnv, "")
	code, out, errOut := runSend(t, "--url", "http://"+addr, "--token", secretToken)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	for _, w := range []string{"connection refused", "make run", "http://" + addr + "/webhooks/<token>"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q lacks %q", errOut, w)
		}
	}
	if strings.Contains(errOut, secretToken) {
		t.Errorf("the token was printed: %q", errOut)
	}
}
