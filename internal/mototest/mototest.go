// Package mototest starts a moto server (a local AWS double) for tests that drive the
// real aws-sdk-go-v2 clients over the wire. One server serves a whole test binary.
package mototest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/peerbridge/peerbridge/internal/repo"
)

// Region and the static credentials every test client uses; moto accepts any.
const Region = "us-east-1"

var (
	once     sync.Once
	endpoint string
	startErr error
	proc     *exec.Cmd
	exited   chan error // receives the server's exit; only the goroutine in start waits
)

// Endpoint returns the URL of a running moto server, starting it on first use.
// It fails the test when moto cannot start: `make test` installs it into .venv.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	once.Do(start)
	if startErr != nil {
		tb.Fatalf("moto server: %v (run `make test`, which installs moto into .venv)", startErr)
	}
	return endpoint
}

// Config is an aws.Config pointed at the moto server with static credentials,
// so no test can reach real AWS. Its clients retry as the SDK does by default, and say so
// on stderr with the error that made them retry: a retried request that moto had carried
// out already (a SendMessage, a CreateTable) shows in a test as one message too many or
// a table in use, and this line is what tells it from a bug.
func Config(tb testing.TB) aws.Config {
	tb.Helper()
	ep := Endpoint(tb)
	name := tb.Name()
	return aws.Config{
		Region:       Region,
		Credentials:  aws.CredentialsProviderFunc(staticCreds),
		BaseEndpoint: aws.String(ep),
		Retryer:      func() aws.Retryer { return reportRetries{retry.NewStandard(), name} },
	}
}

// reportRetries is the SDK's standard retryer, saying on stderr which errors it retries.
type reportRetries struct {
	aws.Retryer
	test string
}

func (r reportRetries) IsErrorRetryable(err error) bool {
	ok := r.Retryer.IsErrorRetryable(err)
	if ok {
		fmt.Fprintf(os.Stderr, "mototest: %s: the SDK retries a request to moto after: %v\n", r.test, err)
	}
	return ok
}

func staticCreds(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "mototest"}, nil
}

// Stop ends the server; call it from TestMain after m.Run.
func Stop() {
	if proc != nil && proc.Process != nil {
		_ = proc.Process.Kill()
		<-exited
	}
}

// Python is the interpreter that has moto: $PEERBRIDGE_PYTHON, else the repository's
// .venv, else python3 from PATH.
func Python() string {
	if p := os.Getenv("PEERBRIDGE_PYTHON"); p != "" {
		return p
	}
	if root, err := repo.Root(); err == nil {
		p := filepath.Join(root, ".venv", "bin", "python")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "python3"
}

func start() {
	proc, endpoint, exited, startErr = launch()
}

// launch starts a moto server on a loopback port of its own choosing and waits until it
// answers. The server binds port 0 and the URL is read from its log: a port picked here
// and handed over would be free for any other process to take before moto binds it, and
// then this test binary would talk, without a sign, to another process's moto (whose
// tests make resources of the same names). exited receives the server's exit; only
// launch's goroutine waits on the process.
func launch() (*exec.Cmd, string, chan error, error) {
	cmd := exec.Command(Python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", "0")
	cmd.Stdout = nil
	logs, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", nil, fmt.Errorf("start %s -m moto.server: %w", Python(), err)
	}
	urls := make(chan string, 1)
	go readURL(logs, urls)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) (*exec.Cmd, string, chan error, error) {
		_ = cmd.Process.Kill()
		<-exited
		return nil, "", nil, err
	}
	timeout := time.After(30 * time.Second)
	var url string
	select {
	case url = <-urls:
	case err := <-exited:
		return nil, "", nil, fmt.Errorf("moto.server exited at start: %v", err)
	case <-timeout:
		return fail(fmt.Errorf("moto.server printed no address within 30s"))
	}
	for {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return cmd, url, exited, nil
		}
		select {
		case err := <-exited:
			return nil, "", nil, fmt.Errorf("moto.server exited at start: %v", err)
		case <-timeout:
			return fail(fmt.Errorf("moto.server did not answer on %s within 30s", url))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listening is werkzeug's line naming the address it bound.
var listening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// readURL sends the server's URL from its log, then reads the log to its end: moto logs
// every request, and a full pipe would stop it.
func readURL(logs io.Reader, urls chan<- string) {
	sc := bufio.NewScanner(logs)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			urls <- m[1]
			break
		}
	}
	_, _ = io.Copy(io.Discard, logs)
}

// Own starts a moto server for tb alone, stopped when tb ends, and returns its URL: for a
// test whose resources are named as a user's would be (a whole stack's), which would
// meet what other tests of the binary left on the shared server.
func Own(tb testing.TB) string {
	tb.Helper()
	cmd, url, exited, err := launch()
	if err != nil {
		tb.Fatalf("moto server: %v (run `make test`, which installs moto into .venv)", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return url
}
