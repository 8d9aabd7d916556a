// Package invoke is `peerbridge invoke FUNCTION [--event FILE|-] [--env-vars FILE]
// [--local]`: what `sam local invoke` does, without Docker: build one function of the
// template for this machine and run it once under the Lambda Runtime Interface Emulator.
package invoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/rie"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/serve"
)

// Local is what a function run against a running serve needs to reach its twins and its
// sandbox (what serve's local AWS endpoint describes).
type Local = serve.LocalDescription

// Twins finds a running serve, or starts the twins and the sandbox for one invocation
// (serve's side of --local), and returns what the function needs to reach them; stop
// ends what was started.
type Twins func(ctx context.Context, opts *Options, stderr io.Writer) (local Local, stop func(), err error)

// Options are invoke's function and flags.
type Options struct {
	IO            cmdutil.IOStreams
	Twins         Twins  // with Local
	Function      string // the template's logical id
	Event         string // a file, "-" for stdin, empty for {}
	EnvVars       string // sam local invoke's env.json shape
	Template      string
	Params        map[string]string
	Local         bool
	LocalEndpoint string // a running serve's local AWS endpoint
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, twins Twins, args []string) int {
	opts, err := Parse(ios, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	opts.Twins = twins
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, args []string) (*Options, error) {
	opts := &Options{IO: ios, Params: map[string]string{}}
	fs := cmdutil.NewFlagSet("invoke", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge invoke FUNCTION [--event FILE|-] [--env-vars FILE] [--local]\n\nWhat `sam local invoke` does, without Docker: builds the function of template.yaml as `sam build`\ndoes (its Makefile target, for this machine's architecture), runs it once under the Lambda Runtime\nInterface Emulator, prints its logs on stderr and its answer on stdout. Exit status 0 when the\nfunction answered (its answer may be an error object, as with sam), 1 when it could not run (an init failure prints Lambda's error\nobject, {\"errorMessage\": …, \"errorType\": …}, as sam does).")
	})
	for _, name := range []string{"event", "e"} {
		fs.StringVar(&opts.Event, name, "", "the event, a JSON `FILE` (- for stdin; default {})")
	}
	for _, name := range []string{"env-vars", "n"} {
		fs.StringVar(&opts.EnvVars, name, "", "JSON `FILE` of environment values, as sam local invoke's: {\"FunctionName\": {\"VAR\": \"value\"}, \"Parameters\": {\"VAR\": \"value\"}} (default: samconfig.toml's local_invoke env_vars)")
	}
	for _, name := range []string{"template", "t"} {
		fs.StringVar(&opts.Template, name, "template.yaml", "the SAM `template`")
	}
	fs.Var(cmdutil.ParamFlag(opts.Params), "param", "template parameter `NAME=VALUE` (repeatable)")
	fs.Func("parameter-overrides", "template parameters as sam takes them: `'NAME=VALUE NAME2=\"VALUE 2\"'`", func(v string) error {
		return parseParameterOverrides(v, opts.Params)
	})
	fs.BoolVar(&opts.Local, "local", false, "point the function's AWS and Peerdom calls at a running serve's twins and sandbox (else starts them for this invocation)")
	fs.StringVar(&opts.LocalEndpoint, "local-endpoint", "", "with --local, when several serves run: the `URL` of the local AWS endpoint (serve --aws-addr) of the one to use (default: the only one running)")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) != 1 {
		return nil, cmdutil.Usagef(ios, "invoke", "name one function of the template, e.g. peerbridge invoke IngestFunction --event events/ingest/role-created.json")
	}
	opts.Function = argv[0]
	return opts, nil
}

// Run invokes the function and prints its answer on stdout: status 0 when it answered,
// 1 when it could not run (for an init failure, Lambda's error object on stdout).
func Run(ctx context.Context, opts *Options) int {
	answer, err := invoke(ctx, opts)
	if errors.Is(err, errInitFailed) {
		// As sam local invoke: Lambda's error object on stdout; the function's own log
		// lines, saying why, are above on stderr.
		fmt.Fprintf(opts.IO.Out, "%s\n", answer)
		return cmdutil.Fail(opts.IO.ErrOut, "invoke", err)
	}
	if err != nil {
		return cmdutil.Fail(opts.IO.ErrOut, "invoke", err)
	}
	fmt.Fprintf(opts.IO.Out, "%s\n", answer)
	return 0
}

// errInitFailed: the function never answered: its init failed (it exited, or crashed,
// before asking for the event). invoke then returns Lambda's error object for it.
var errInitFailed = errors.New("the function's init failed: see its log above")

var (
	rieFatalType = regexp.MustCompile(`First fatal error stored in appctx: (\S+)`)
	// The emulator writes the line's fields in either order ("error=… InvokeID=…" or
	// "InvokeID=… error=…"): its logger's fields are a map.
	rieInitFailed  = regexp.MustCompile(`(?m)Init failed (?:InvokeID=\S* )?error=(.*?)(?: InvokeID=\S*)?$`)
	rieInvokeStart = regexp.MustCompile(`INVOKE START\(requestId: ([^)\s]+)\)`)
)

// initErrorObject is the {"errorMessage", "errorType"} object Lambda (and sam local
// invoke) answers for an invocation whose init failed: the emulator's own answer when it
// is one, else built from the emulator's log ("Init failed error=…", "First fatal error
// stored in appctx: Runtime.ExitError").
func initErrorObject(status int, body []byte, logs string) []byte {
	var obj struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(body, &obj) == nil && obj.Message != "" && obj.Type != "" {
		return bytes.TrimSpace(body)
	}
	obj.Type, obj.Message = "Runtime.Unknown", fmt.Sprintf("the function did not answer (the emulator answered HTTP %d)", status)
	if m := rieFatalType.FindStringSubmatch(logs); m != nil {
		obj.Type = m[1]
	}
	if m := rieInitFailed.FindStringSubmatch(logs); m != nil {
		obj.Message = "Error: " + m[1]
		if id := rieInvokeStart.FindStringSubmatch(logs); id != nil {
			obj.Message = "RequestId: " + id[1] + " " + obj.Message
		}
	}
	b, _ := json.Marshal(obj)
	return b
}

// invoke builds, starts and invokes the function, and returns its answer.
func invoke(ctx context.Context, opts *Options) ([]byte, error) {
	payload, err := readEvent(opts)
	if err != nil {
		return nil, err
	}
	var local *Local
	if opts.Local {
		if opts.Twins == nil {
			return nil, errors.New("--local: not available in this build")
		}
		d, stop, err := opts.Twins(ctx, opts, opts.IO.ErrOut)
		if err != nil {
			return nil, err
		}
		defer stop()
		local = &d
		for k, v := range d.Params {
			if _, given := opts.Params[k]; !given {
				opts.Params[k] = v
			}
		}
	}
	tpl, err := samtemplate.Load(opts.Template, opts.Params)
	if err != nil {
		return nil, fmt.Errorf("reading the template: %w (run from the repository, or give --template)", err)
	}
	fn, _, err := tpl.Function(opts.Function)
	if err != nil {
		return nil, err
	}
	env, err := invokeEnv(opts, fn, local)
	if err != nil {
		return nil, err
	}
	return runOnce(ctx, opts, fn, env, payload)
}

// readEvent is the event to invoke with: --event's file, stdin, or {}.
func readEvent(opts *Options) ([]byte, error) {
	payload := []byte("{}")
	switch opts.Event {
	case "":
	case "-":
		b, err := io.ReadAll(opts.IO.In)
		if err != nil {
			return nil, fmt.Errorf("reading the event from stdin: %w", err)
		}
		payload = b
	default:
		b, err := os.ReadFile(opts.Event)
		if err != nil {
			return nil, fmt.Errorf("--event: %w", err)
		}
		payload = b
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("the event is not JSON: give a JSON file, e.g. one of events/")
	}
	return payload, nil
}

// runOnce builds fn, runs it under the emulator with env and invokes it once.
func runOnce(ctx context.Context, opts *Options, fn samtemplate.Function, env map[string]string, payload []byte) ([]byte, error) {
	stderr := opts.IO.ErrOut
	bootstrap, err := serve.BuildFunction(ctx, filepath.Dir(opts.Template), fn, stderr)
	if err != nil {
		return nil, err
	}
	emulator, err := rie.Binary()
	if err != nil {
		return nil, fmt.Errorf("the Lambda emulator: %w (it is built once from the Go module proxy into .tools/)", err)
	}
	e, err := rie.Start(emulator, rie.Function{Bootstrap: bootstrap, Name: fn.LogicalID,
		Timeout: time.Duration(fn.TimeoutSeconds) * time.Second, MemoryMB: fn.MemoryMB, Env: env, Output: stderr})
	if err != nil {
		return nil, err
	}
	resp, err := e.Invoke(ctx, payload)
	e.Stop() // its logs are all out once it has ended
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK || len(bytes.TrimSpace(resp.Body)) == 0 {
		return initErrorObject(resp.Status, resp.Body, e.Logs()), errInitFailed
	}
	return resp.Body, nil
}

// invokeEnv is the function's environment as `sam local invoke --env-vars` makes it: the
// template's variables (parameters resolved); the env-vars file's values for those
// variables, its "Parameters" section for every function, then the function's own (SAM
// sets no variable the template does not declare); this process's AWS credentials,
// region and endpoints (Lambda gives the function its role's; profiles are not read);
// and with --local, the twins' and the sandbox's addresses.
func invokeEnv(opts *Options, fn samtemplate.Function, local *Local) (map[string]string, error) {
	env := map[string]string{}
	for k, v := range fn.Env {
		env[k] = v
	}
	file := opts.EnvVars
	if file == "" {
		file = samconfigEnvVars(filepath.Join(filepath.Dir(opts.Template), "samconfig.toml"))
		if file != "" {
			file = filepath.Join(filepath.Dir(opts.Template), file)
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--env-vars: %w", err)
		}
		var sections map[string]map[string]any
		if err := json.Unmarshal(b, &sections); err != nil {
			return nil, fmt.Errorf("--env-vars %s: want {\"FunctionName\": {\"VAR\": \"value\"}, \"Parameters\": {…}}: %w", file, err)
		}
		for _, section := range []string{"Parameters", fn.LogicalID} {
			for k, v := range sections[section] {
				if _, declared := fn.Env[k]; declared {
					env[k] = envString(v)
				}
			}
		}
	}
	env["AWS_SAM_LOCAL"] = "true"
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "AWS_ACCESS_KEY_ID", k == "AWS_SECRET_ACCESS_KEY", k == "AWS_SESSION_TOKEN",
			k == "AWS_REGION", k == "AWS_DEFAULT_REGION", strings.HasPrefix(k, "AWS_ENDPOINT_URL"):
			env[k] = v
		}
	}
	if local != nil {
		serve.ApplyLocal(env, fn, *local)
	}
	return env, nil
}

// envString is an env.json value as SAM passes it: strings as they are, numbers and
// booleans as their JSON text.
func envString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// samconfigEnvVars is samconfig.toml's [default.local_invoke.parameters] env_vars, or "".
func samconfigEnvVars(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		if section != "[default.local_invoke.parameters]" {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "env_vars" {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// parseParameterOverrides reads sam's --parameter-overrides: NAME=VALUE pairs separated
// by spaces, a value quoted ('…' or "…") when it holds spaces.
func parseParameterOverrides(s string, into map[string]string) error {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return fmt.Errorf("unclosed %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	for _, w := range words {
		if err := cmdutil.ParamFlag(into).Set(w); err != nil {
			return err
		}
	}
	return nil
}
