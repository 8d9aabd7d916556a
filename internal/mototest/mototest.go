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
	port, err := freePort()
	if err != nil {
		startErr = err
		return
	}
	cmd := exec.Command(Python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		startErr = fmt.Errorf("start %s -m moto.server: %w", Python(), err)
		return
	}
	proc = cmd
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	exited = make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			proc = nil
			exited <- err
			startErr = fmt.Errorf("moto.server exited at start: %v", err)
			return
		default:
		}
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			endpoint = url
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	startErr = fmt.Errorf("moto.server did not answer on %s within 30s", url)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
