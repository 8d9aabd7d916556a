// Package mototest starts a moto server (a local AWS double) for tests that drive the
// real aws-sdk-go-v2 clients over the wire. One server serves a whole test binary.
package mototest

import (
	"context"
	"fmt"
	"github.com/peerbridge/peerbridge/internal/repo"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
// so no test can reach real AWS.
func Config(tb testing.TB) aws.Config {
	ep := Endpoint(tb)
	return aws.Config{
		Region:       Region,
		Credentials:  aws.CredentialsProviderFunc(staticCreds),
		BaseEndpoint: aws.String(ep),
	}
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

// launch starts a moto server on a free loopback port and waits until it answers. exited
// receives the server's exit; only launch's goroutine waits on the process.
func launch() (*exec.Cmd, string, chan error, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", nil, err
	}
	cmd := exec.Command(Python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, "", nil, fmt.Errorf("start %s -m moto.server: %w", Python(), err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, "", nil, fmt.Errorf("moto.server exited at start: %v", err)
		default:
		}
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return cmd, url, exited, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	return nil, "", nil, fmt.Errorf("moto.server did not answer on %s within 30s", url)
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
