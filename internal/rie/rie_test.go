package rie

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	echoDir  string
	echoOnce sync.Once
	echoErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if echoDir != "" {
		os.RemoveAll(echoDir)
	}
	os.Exit(code)
}

// echoBootstrap builds testdata/echo (a hand-written Runtime API client) as a bootstrap,
// once per test binary.
func echoBootstrap(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		if echoDir, echoErr = os.MkdirTemp("", "rie-echo-"); echoErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(echoDir, "bootstrap"), "./testdata/echo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			echoErr = fmt.Errorf("build echo: %v\n%s", err, b)
		}
	})
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	return filepath.Join(echoDir, "bootstrap")
}

func emulator(t *testing.T) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func startEcho(t *testing.T, fn Function) *Emulator {
	t.Helper()
	e, err := Start(emulator(t), fn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func TestInvokeRunsTheBootstrapWithOnlyTheGivenEnvironment(t *testing.T) {
	t.Setenv("PEERBRIDGE_RIE_TEST_LEAK", "from-the-test-process")
	boot := echoBootstrap(t)
	e := startEcho(t, Function{Bootstrap: boot, Name: "Echo", Timeout: 7 * time.Second, MemoryMB: 256,
		Env: map[string]string{"GREETING": "hello"}})

	ctx := context.Background()
	for i := range 2 { // the second invocation reuses the initialized runtime
		resp, err := e.Invoke(ctx, []byte(`{"n": 1, "env": ["GREETING", "PEERBRIDGE_RIE_TEST_LEAK", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]}`))
		if err != nil {
			t.Fatal(err)
		}
		if msg, failed := resp.FunctionError(); failed {
			t.Fatalf("invocation %d failed: %s", i, msg)
		}
		var got struct {
			Event map[string]any    `json:"event"`
			Env   map[string]string `json:"env"`
			Cwd   string            `json:"cwd"`
		}
		if err := json.Unmarshal(resp.Body, &got); err != nil {
			t.Fatalf("answer %s: %v", resp.Body, err)
		}
		if got.Event["n"] != float64(1) {
			t.Errorf("event not passed through: %s", resp.Body)
		}
		want := map[string]string{"GREETING": "hello", "PEERBRIDGE_RIE_TEST_LEAK": "", "AWS_LAMBDA_FUNCTION_NAME": "Echo", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
		for k, v := range want {
			if got.Env[k] != v {
				t.Errorf("env %s = %q, want %q", k, got.Env[k], v)
			}
		}
		if got.Cwd != filepath.Dir(boot) {
			t.Errorf("cwd = %q, want the bootstrap's directory %q", got.Cwd, filepath.Dir(boot))
		}
	}
	if n := len(e.WaitFunctionLogs(2, 5*time.Second)); n != 2 {
		t.Errorf("function logged %d JSON lines, want 2:\n%s", n, e.Logs())
	}
	if !strings.Contains(e.Logs(), "Init Duration") {
		t.Errorf("emulator log has no REPORT line:\n%s", e.Logs())
	}
}

func TestHandlerErrorAndInitFailure(t *testing.T) {
	boot := echoBootstrap(t)
	ctx := context.Background()

	e := startEcho(t, Function{Bootstrap: boot})
	resp, err := e.Invoke(ctx, []byte(`{"fail": "no such role"}`))
	if err != nil {
		t.Fatal(err)
	}
	if msg, failed := resp.FunctionError(); !failed || msg != "EchoError: no such role" {
		t.Errorf("handler error: failed=%v msg=%q body=%s", failed, msg, resp.Body)
	}

	dead := startEcho(t, Function{Bootstrap: boot, Env: map[string]string{"ECHO_DIE": "1"}})
	resp, err = dead.Invoke(ctx, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, failed := resp.FunctionError(); !failed || resp.Status == 200 {
		t.Errorf("init failure answered %d %s, want a failure status", resp.Status, resp.Body)
	}
	if !strings.Contains(dead.Logs(), "told to fail at init") {
		t.Errorf("init log missing:\n%s", dead.Logs())
	}
}

func TestTimeoutIsAFailure(t *testing.T) {
	e := startEcho(t, Function{Bootstrap: echoBootstrap(t), Timeout: time.Second})
	resp, err := e.Invoke(context.Background(), []byte(`{"sleep": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if msg, failed := resp.FunctionError(); !failed || !strings.Contains(msg, "timed out") {
		t.Errorf("timeout: failed=%v msg=%q status=%d body=%s", failed, msg, resp.Status, resp.Body)
	}
}

func TestStartRefusesAMissingOrPlainFile(t *testing.T) {
	bin := emulator(t)
	if _, err := Start(bin, Function{Bootstrap: filepath.Join(t.TempDir(), "bootstrap")}); err == nil {
		t.Error("missing bootstrap accepted")
	}
	plain := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(bin, Function{Bootstrap: plain}); err == nil || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("non-executable bootstrap: %v", err)
	}
}

func TestStopEndsTheFunctionProcess(t *testing.T) {
	e := startEcho(t, Function{Bootstrap: echoBootstrap(t)})
	if _, err := e.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	select {
	case <-e.done:
	default:
		t.Fatal("emulator still running after Stop")
	}
	if _, err := e.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Error("invoke after Stop succeeded")
	}
}
