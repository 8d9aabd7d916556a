package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/serve"
	"github.com/peerbridge/peerbridge/internal/serve/servetest"
)

// startInstance starts a serve with its admin and local AWS endpoints on free loopback
// ports (the admin files in $PEERBRIDGE_ADMIN_DIR, set by the caller).
func startInstance(t *testing.T) (*serve.Stack, *servetest.SyncBuffer) {
	t.Helper()
	out := &servetest.SyncBuffer{}
	s, err := serve.Start(context.Background(), serve.Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Token: "instance-token", Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "error", NoActions: true}, out, out)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Shutdown(context.Background())
		}
	})
	return s, out
}

func readAdminInfo(t *testing.T, file string) serve.AdminInfo {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var info serve.AdminInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// The local AWS endpoint hands out nothing (the webhook token, the sandbox key) unless
// the request is signed with the admin file's credentials and addressed to its own
// address; a non-loopback --aws-addr is refused at start.
func TestServeLocalAWSIsClosed(t *testing.T) {
	t.Setenv(serve.AdminDirEnv, t.TempDir())
	s, _ := startInstance(t)
	info := readAdminInfo(t, s.AdminFile())
	if info.AWS == nil || info.AWSEndpoint != s.Local().AWSEndpoint {
		t.Fatalf("the admin file has no credentials for %s: %+v", s.Local().AWSEndpoint, info)
	}
	if fi, _ := os.Stat(s.AdminFile()); fi.Mode().Perm() != 0o600 {
		t.Errorf("admin file mode %v, want 0600", fi.Mode().Perm())
	}
	secrets := []string{"instance-token", s.Sandbox().Config().APIKey}
	get := func(host string, creds *localaws.Credentials) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.Local().AWSEndpoint+serve.LocalDescriptionPath, nil)
		if host != "" {
			req.Host = host
		}
		if creds != nil {
			if err := localaws.Sign(context.Background(), req, *creds, nil); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	wrong := localaws.NewCredentials()
	wrongSecret := localaws.Credentials{AccessKeyID: info.AWS.AccessKeyID, SecretAccessKey: wrong.SecretAccessKey}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(info.AWSEndpoint, "http://"))
	for _, c := range []struct {
		name  string
		host  string
		creds *localaws.Credentials
	}{
		{"no credential", "", nil},
		{"wrong credential", "", &wrong},
		{"wrong secret", "", &wrongSecret},
		{"forged Host (DNS rebinding), signed right", "attacker.example:" + port, info.AWS},
	} {
		code, body := get(c.host, c.creds)
		if code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.name, code)
		}
		for _, secret := range secrets {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the answer holds a secret: %s", c.name, body)
			}
		}
	}
	code, body := get("", info.AWS)
	if code != http.StatusOK || !strings.Contains(body, "instance-token") {
		t.Errorf("signed with the admin file's credentials: %d %s", code, body)
	}
	// invoke --local's own reading of it.
	d, err := serve.FetchLocalDescription(context.Background(), info)
	if err != nil || d.WebhookToken != "instance-token" || d.Creds != *info.AWS {
		t.Errorf("fetchLocalDescription: %+v %v", d, err)
	}

	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:3002"} {
		_, err := serve.Start(context.Background(), serve.Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AWSAddr: addr,
			Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "error", NoActions: true}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--aws-addr") || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--aws-addr %s: %v, want a refusal naming --aws-addr and loopback", addr, err)
		}
	}
}

// Two serves side by side: each has its own admin file; status --local asks which when
// both run and reaches the one named; stopping one leaves the other's file; invoke
// --local names the serve it would post to.
func TestServeInstancesApart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(serve.AdminDirEnv, dir)
	a, outA := startInstance(t)
	b, _ := startInstance(t)
	if a.AdminFile() == b.AdminFile() {
		t.Fatalf("both serves wrote %s", a.AdminFile())
	}
	addrA, addrB := strings.TrimPrefix(a.AdminURL(), "http://"), strings.TrimPrefix(b.AdminURL(), "http://")
	if !strings.Contains(filepath.Base(a.AdminFile()), strings.ReplaceAll(addrA, ":", "_")) {
		t.Errorf("admin file %s is not named by its address %s", a.AdminFile(), addrA)
	}
	code, _, stderr := runCLI(t, "", "status", "--local")
	if code != 1 || !strings.Contains(stderr, "2 serves are running") || !strings.Contains(stderr, addrA) || !strings.Contains(stderr, addrB) || !strings.Contains(stderr, "--admin-addr") {
		t.Errorf("status --local with two serves: %d %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "", "dlq", "list", "--local")
	if code != 1 || !strings.Contains(stderr, "--admin-addr") {
		t.Errorf("dlq list --local with two serves: %d %s", code, stderr)
	}
	// Each answers when named: serve b got 1 webhook, a none.
	resp, err := http.Post(b.WebhookURL(), "application/json", strings.NewReader(`{"text":"**Test** webhook"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sts [2]struct {
		LastHour map[string]float64 `json:"lastHour"`
	}
	for i, addr := range []string{addrA, addrB} {
		code, stdout, stderr := runCLI(t, "", "status", "--local", "--json", "--admin-addr", addr)
		if code != 0 {
			t.Fatalf("status --local --admin-addr %s: %d %s", addr, code, stderr)
		}
		json.Unmarshal([]byte(stdout), &sts[i])
	}
	if code, _, stderr := runCLI(t, "", "status", "--local", "--admin-addr", "127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "no running serve has --admin-addr 127.0.0.1:1") {
		t.Errorf("status --local naming no serve: %d %s", code, stderr)
	}
	if a, b := sts[0].LastHour["WebhooksAccepted"], sts[1].LastHour["WebhooksAccepted"]; a != 0 || b != 1 {
		t.Errorf("status --local --admin-addr: serve a counts %v accepted, b %v; want 0 and 1 (each its own)", a, b)
	}
	// invoke --local with two running: asks which; naming one: that one.
	if _, err := localTwinsFor(t, ""); err == nil || !strings.Contains(err.Error(), "--local-endpoint") {
		t.Errorf("invoke --local with two serves: %v, want a question naming --local-endpoint", err)
	}
	msg, err := localTwinsFor(t, b.Local().AWSEndpoint)
	if err != nil || !strings.Contains(msg, strings.TrimPrefix(b.Local().AWSEndpoint, "http://")) || !strings.Contains(msg, addrB) {
		t.Errorf("invoke --local --local-endpoint b: %q %v, want it to name serve b", msg, err)
	}

	// Stopping a leaves b's file; status --local then picks b alone.
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.AdminFile()); !os.IsNotExist(err) {
		t.Errorf("a's admin file is still there: %v", err)
	}
	if _, err := os.Stat(b.AdminFile()); err != nil {
		t.Errorf("stopping a removed b's admin file: %v", err)
	}
	code, stdout, stderr := runCLI(t, "", "status", "--local", "--json")
	if code != 0 || !strings.Contains(stdout, `"WebhooksAccepted": 1`) {
		t.Errorf("status --local with one serve left: %d %s %s", code, stdout, stderr)
	}
	if !strings.Contains(outA.String(), "--url http://127.0.0.1:") {
		t.Errorf("the try line lacks --url for a non-default address:\n%s", outA)
	}
}

// localTwinsFor runs invoke --local's choice of serve and returns what it printed.
func localTwinsFor(t *testing.T, endpoint string) (string, error) {
	t.Helper()
	var stderr strings.Builder
	_, stop, err := serve.LocalTwins(context.Background(), "", endpoint, &stderr)
	if stop != nil {
		stop()
	}
	return stderr.String(), err
}

// Every busy port is named with its flag, at once, before anything is built.
func TestServeNamesEveryBusyPort(t *testing.T) {
	t.Setenv(serve.AdminDirEnv, t.TempDir())
	var busy []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		busy = append(busy, ln.Addr().String())
	}
	_, err := serve.Start(context.Background(), serve.Options{Addr: busy[0], SandboxAddr: "127.0.0.1:0", AWSAddr: busy[1], AdminAddr: busy[2],
		Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "error"}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started on busy ports")
	}
	for i, flag := range []string{"--addr", "--aws-addr", "--admin-addr"} {
		if !strings.Contains(err.Error(), flag+" "+busy[i]) {
			t.Errorf("the error does not name %s %s: %v", flag, busy[i], err)
		}
	}
	if strings.Contains(err.Error(), "--sandbox-addr") {
		t.Errorf("the free sandbox port is named: %v", err)
	}
}

// The admin file's temporary name is never followed as a symbolic link: a link left
// there is replaced, its target untouched.
func TestAdminFileNotWrittenThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(serve.AdminDirEnv, dir)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	file := filepath.Join(dir, serve.AdminFileName(addr, ""))
	if err := os.Symlink(victim, file+".tmp"); err != nil {
		t.Fatal(err)
	}
	out := &servetest.SyncBuffer{}
	s, err := serve.Start(context.Background(), serve.Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AdminAddr: addr,
		Template: filepath.Join("..", "..", "template.yaml"), LogLevel: "error", NoActions: true}, out, out)
	if err != nil {
		t.Skipf("the admin port was taken meanwhile: %v", err)
	}
	defer s.Shutdown(context.Background())
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("the symlink's target was written: %q", got)
	}
	if s.AdminFile() != file || readAdminInfo(t, file).Token == "" {
		t.Errorf("admin file %s not written (serve says %s):\n%s", file, s.AdminFile(), out)
	}
	if fi, err := os.Lstat(file); err != nil || fi.Mode()&os.ModeSymlink != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin file: %v %v", fi.Mode(), err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("admin dir mode %v, want 0700", fi.Mode().Perm())
	}
}

// The admin endpoint and the sandbox refuse a request naming another host (DNS
// rebinding), even with the right token or key.
func TestServeAdminAndSandboxCheckHost(t *testing.T) {
	t.Setenv(serve.AdminDirEnv, t.TempDir())
	s, _ := startInstance(t)
	info := readAdminInfo(t, s.AdminFile())
	for _, c := range []struct{ url, header, value string }{
		{s.AdminURL() + "/status", "Authorization", "Bearer " + info.Token},
		{s.SandboxURL() + "/roles", "X-Api-Key", s.Sandbox().Config().APIKey},
	} {
		u, _ := url.Parse(c.url)
		for host, want := range map[string]int{u.Host: http.StatusOK, "localhost:" + u.Port(): http.StatusOK, "attacker.example:" + u.Port(): http.StatusForbidden} {
			req, _ := http.NewRequest(http.MethodGet, c.url, nil)
			req.Header.Set(c.header, c.value)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s with Host %q: %d, want %d", c.url, host, resp.StatusCode, want)
			}
		}
	}
}
