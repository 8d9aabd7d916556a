// Package rie runs a Lambda function's bootstrap under the AWS Lambda Runtime Interface
// Emulator (aws-lambda-rie), the emulator `sam local invoke` runs inside its container.
// Here it is a plain process on loopback ports: no Docker. The emulator serves the Lambda
// invoke API; the bootstrap talks to it through the Runtime API, exactly as in Lambda.
package rie

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/peerbridge/peerbridge/internal/repo"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Module and Version pin the emulator, built from the Go module proxy.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
)

// EnvBinary names the variable that points at an aws-lambda-rie to use instead of
// building the pinned one.
const EnvBinary = "PEERBRIDGE_RIE"

var installMu sync.Mutex

// Binary returns the path of the emulator: $PEERBRIDGE_RIE when set, else the pinned
// version, built once with `go install` into .tools/rie-<Version>/ at the repository root.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, ".tools", "rie-"+Version)
	bin := filepath.Join(dir, "aws-lambda-rie")
	installMu.Lock()
	defer installMu.Unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "install", Module+"@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v\n%s", Module, Version, err, out)
	}
	return bin, nil
}

// Function is what the emulator runs.
type Function struct {
	Bootstrap string            // the executable; it runs in its own directory, as in /var/task
	Name      string            // AWS_LAMBDA_FUNCTION_NAME (default "function")
	Timeout   time.Duration     // the invocation timeout (default 30s)
	MemoryMB  int               // AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128)
	Env       map[string]string // the function's whole environment: nothing of this process's leaks in
	// Output, when set, also gets everything the emulator and the function write, as it
	// comes (peerbridge invoke streams it to stderr); Logs keeps it either way.
	Output io.Writer
}

// Emulator is a running aws-lambda-rie with one function.
type Emulator struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// Start runs the emulator at path emulator with fn, on free loopback ports, and waits
// until it accepts invocations. The function itself starts (its init phase) on the first
// invocation, as in Lambda. Stop it when done.
func Start(emulator string, fn Function) (*Emulator, error) {
	if fn.Name == "" {
		fn.Name = "function"
	}
	if fn.Timeout <= 0 {
		fn.Timeout = 30 * time.Second
	}
	if fn.MemoryMB <= 0 {
		fn.MemoryMB = 128
	}
	boot, err := filepath.Abs(fn.Bootstrap)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(boot); err != nil {
		return nil, fmt.Errorf("rie: bootstrap: %w", err)
	} else if st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("rie: bootstrap %s is not executable", boot)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and bind
		e, err := start(emulator, boot, fn)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(emulator, boot string, fn Function) (*Emulator, error) {
	invokePort, err := freePort()
	if err != nil {
		return nil, err
	}
	runtimePort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(invokePort))
	cmd := exec.Command(emulator,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(runtimePort)),
		"--log-level", "info", // the function's LOG_LEVEL is not the emulator's
		boot)
	cmd.Dir = filepath.Dir(boot)
	cmd.Env = environment(fn)
	logs := &syncBuffer{}
	var out io.Writer = logs
	if fn.Output != nil {
		out = io.MultiWriter(logs, fn.Output)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = processAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rie: start %s: %w", emulator, err)
	}
	e := &Emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() { _ = cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			return nil, fmt.Errorf("rie: emulator exited at start: %s", logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return e, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.Stop()
	return nil, fmt.Errorf("rie: emulator did not listen on %s within 10s: %s", addr, logs.String())
}

// environment is the emulator's (and so the function's) environment: the variables Lambda
// sets for every function, then fn.Env. PATH is kept so a bootstrap could exec tools.
func environment(fn Function) []string {
	env := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(fn.Timeout.Seconds())),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "$LATEST",
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Response is the emulator's answer to one invocation.
type Response struct {
	Status int    // 200, also when the handler returned an error; 502 when the function's init failed
	Body   []byte // the handler's result (JSON), or Lambda's error object
}

// FunctionError reports the error a handler returned: Lambda answers it as
// {"errorMessage": ..., "errorType": ...}.
func (r Response) FunctionError() (message string, failed bool) {
	if r.Status != http.StatusOK {
		return fmt.Sprintf("emulator answered HTTP %d: %s", r.Status, r.Body), true
	}
	var e struct {
		Message *string `json:"errorMessage"`
		Type    *string `json:"errorType"`
	}
	if json.Unmarshal(r.Body, &e) == nil && e.Message != nil && e.Type != nil {
		return *e.Type + ": " + *e.Message, true
	}
	if bytes.HasPrefix(r.Body, []byte("Task timed out")) {
		return string(r.Body), true
	}
	return "", false
}

// Invoke sends one event to the function and returns its answer.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		return Response{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("rie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("rie: reading the answer: %w", err)
	}
	return Response{Status: resp.StatusCode, Body: body}, nil
}

// Logs is everything the emulator and the function wrote so far.
func (e *Emulator) Logs() string { return e.logs.String() }

// FunctionLogs are the JSON objects among the logged lines: the function's structured
// logs (the emulator's own lines are plain text).
func (e *Emulator) FunctionLogs() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// WaitFunctionLogs waits until at least n function log lines have arrived, or until
// timeout, and returns them. A function's output reaches the log through a pipe, so a
// line can arrive after the invocation's answer does.
func (e *Emulator) WaitFunctionLogs(n int, timeout time.Duration) []map[string]any {
	deadline := time.Now().Add(timeout)
	for {
		logs := e.FunctionLogs()
		if len(logs) >= n || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the emulator and the function it runs.
func (e *Emulator) Stop() {
	select {
	case <-e.done:
		return
	default:
	}
	terminateGroup(e.cmd.Process, false)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		terminateGroup(e.cmd.Process, true)
		<-e.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
