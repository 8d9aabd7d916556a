package invoke

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// The environment is sam local invoke's: the template's variables, env.json's values for
// those only ("Parameters" for all, then the function's own), then --local's addresses.
func TestInvokeEnvIsSamLocalInvokes(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env.json")
	if err := os.WriteFile(envFile, []byte(`{"Parameters": {"LOG_LEVEL": "debug", "UNDECLARED": "x"},
		"IngestFunction": {"WEBHOOK_TOKENS": "local-test-token", "QUEUE_URL": "https://sqs.example/q", "TIMEOUT_N": 5},
		"WorkerFunction": {"EVENT_SOURCE": "other"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCALLER")
	fn := samtemplate.Function{LogicalID: "IngestFunction", Env: map[string]string{"LOG_LEVEL": "info", "WEBHOOK_TOKENS": "",
		"WEBHOOK_TOKEN_SECRET_ID": "", "WEBHOOK_TOKEN_PARAMETER": "/peerbridge/webhook-token", "QUEUE_URL": "WebhookQueue", "EVENT_SOURCE": "peerdom", "TIMEOUT_N": ""}}
	opts := &Options{EnvVars: envFile, Template: filepath.Join(dir, "template.yaml")}

	env, err := invokeEnv(opts, fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"LOG_LEVEL": "debug", "WEBHOOK_TOKENS": "local-test-token", "QUEUE_URL": "https://sqs.example/q",
		"EVENT_SOURCE": "peerdom", "TIMEOUT_N": "5", "WEBHOOK_TOKEN_PARAMETER": "/peerbridge/webhook-token", "AWS_ACCESS_KEY_ID": "AKIDCALLER", "AWS_SAM_LOCAL": "true"} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	if _, ok := env["UNDECLARED"]; ok {
		t.Error("a variable the template does not declare was set")
	}

	env, err = invokeEnv(opts, fn, &Local{AWSEndpoint: "http://127.0.0.1:3002", QueueURL: "http://127.0.0.1:3002/000000000000/q", EventBusName: "b",
		Creds: localaws.Credentials{AccessKeyID: "PBLOCALKEY", SecretAccessKey: "serve-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:3002", "QUEUE_URL": "http://127.0.0.1:3002/000000000000/q",
		"WEBHOOK_TOKENS": "local-test-token", "WEBHOOK_TOKEN_SECRET_ID": "", "WEBHOOK_TOKEN_PARAMETER": "", "AWS_ACCESS_KEY_ID": "PBLOCALKEY", "AWS_SECRET_ACCESS_KEY": "serve-secret"} {
		if env[k] != want {
			t.Errorf("--local: %s=%q, want %q", k, env[k], want)
		}
	}
	if _, ok := env["EVENT_BUS_NAME"]; ok {
		t.Error("--local set EVENT_BUS_NAME, which the function does not declare")
	}
}

func TestSamconfigEnvVars(t *testing.T) {
	if got := samconfigEnvVars(filepath.Join("..", "..", "..", "samconfig.toml")); got != "events/env.json" {
		t.Errorf("samconfig.toml's env_vars: %q, want events/env.json", got)
	}
}

func TestParseParameterOverrides(t *testing.T) {
	got := map[string]string{}
	if err := parseParameterOverrides(`LogLevel=debug RoleDefaults='{"Purpose": "To be defined"}' IgnoreAuthors="a@x, b@x"`, got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"LogLevel": "debug", "RoleDefaults": `{"Purpose": "To be defined"}`, "IgnoreAuthors": "a@x, b@x"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{`A='x`, `novalue`} {
		if err := parseParameterOverrides(bad, map[string]string{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestInitErrorObject: an init failure answers Lambda's error object, taken from the
// emulator's log as sam local invoke shows it, or the emulator's own answer when it is one.
func TestInitErrorObject(t *testing.T) {
	logs := `07 Dec 2026 20:20:13,374 {"level":"ERROR","msg":"ingest cannot start: fix its configuration"}
07 Dec 2026 20:20:13,375 [WARNING] (rapid) First fatal error stored in appctx: Runtime.ExitError
07 Dec 2026 20:20:13,375 [ERROR] (rapid) Init failed error=Runtime exited with error: exit status 1 InvokeID=
07 Dec 2026 20:20:13,375 [INFO] (rapid) INVOKE START(requestId: 2555-6be8)
07 Dec 2026 20:20:13,375 [ERROR] (rapid) Invoke failed error=Runtime exited with error: exit status 1 InvokeID=2555-6be8
`
	cases := []struct {
		status     int
		body, logs string
		want       string
	}{
		{502, "", logs, `{"errorMessage":"RequestId: 2555-6be8 Error: Runtime exited with error: exit status 1","errorType":"Runtime.ExitError"}`},
		{200, "\n", logs, `{"errorMessage":"RequestId: 2555-6be8 Error: Runtime exited with error: exit status 1","errorType":"Runtime.ExitError"}`},
		{502, `{"errorMessage":"boom","errorType":"Runtime.Crash"}` + "\n", "", `{"errorMessage":"boom","errorType":"Runtime.Crash"}`},
		{502, "", "", `{"errorMessage":"the function did not answer (the emulator answered HTTP 502)","errorType":"Runtime.Unknown"}`},
		// The emulator writes the line's fields in either order (a CI run saw this one).
		{502, "", strings.Replace(logs, "Init failed error=Runtime exited with error: exit status 1 InvokeID=", "Init failed InvokeID= error=Runtime exited with error: exit status 1", 1),
			`{"errorMessage":"RequestId: 2555-6be8 Error: Runtime exited with error: exit status 1","errorType":"Runtime.ExitError"}`},
	}
	for _, c := range cases {
		if got := string(initErrorObject(c.status, []byte(c.body), c.logs)); got != c.want {
			t.Errorf("initErrorObject(%d, %q) = %s, want %s", c.status, c.body, got, c.want)
		}
	}
}

// TestParse: sam's short flags, --param and --parameter-overrides together, one FUNCTION.
func TestParse(t *testing.T) {
	ios := cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}
	opts, err := Parse(ios, []string{"IngestFunction", "-e", "ev.json", "-t", "tpl.yaml", "--param", "A=1", "--parameter-overrides", `B=2 C="x y"`, "--local"})
	if err != nil || opts.Function != "IngestFunction" || opts.Event != "ev.json" || opts.Template != "tpl.yaml" || !opts.Local ||
		!maps.Equal(opts.Params, map[string]string{"A": "1", "B": "2", "C": "x y"}) {
		t.Fatalf("%+v %v", opts, err)
	}
	var errOut bytes.Buffer
	if _, err := Parse(cmdutil.IOStreams{Out: io.Discard, ErrOut: &errOut}, nil); cmdutil.Status(err) != 2 || !strings.Contains(errOut.String(), "name one function") {
		t.Errorf("no function: %d %q", cmdutil.Status(err), errOut.String())
	}
}

// TestRunRefusesAnEventThatIsNotJSON before building anything.
func TestRunRefusesAnEventThatIsNotJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	opts := &Options{IO: cmdutil.IOStreams{In: strings.NewReader("not json"), Out: &out, ErrOut: &errOut}, Function: "IngestFunction", Event: "-", Template: "template.yaml"}
	if code := Run(context.Background(), opts); code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "peerbridge invoke: the event is not JSON") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	errOut.Reset()
	opts = &Options{IO: cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Function: "IngestFunction", Local: true, Template: "template.yaml"}
	if code := Run(context.Background(), opts); code != 1 || !strings.Contains(errOut.String(), "--local: not available") {
		t.Errorf("--local without Twins: exit %d, %q", code, errOut.String())
	}
}
