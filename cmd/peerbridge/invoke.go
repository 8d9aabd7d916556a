package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/peerbridge/peerbridge/internal/localaws"
	"github.com/peerbridge/peerbridge/internal/rie"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/serve"
)

// invokeOptions are invoke's flags.
type invokeOptions struct {
	function      string
	event         string // a file, "-" for stdin, empty for {}
	envVars       string // sam local invoke's env.json shape
	template      string
	params        map[string]string
	local         bool
	localEndpoint string // a running serve's local AWS endpoint
}

func runInvoke(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := invokeOptions{params: map[string]string{}}
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, name := range []string{"event", "e"} {
		fs.StringVar(&opts.event, name, "", "the event, a JSON `FILE` (- for stdin; default {})")
	}
	for _, name := range []string{"env-vars", "n"} {
		fs.StringVar(&opts.envVars, name, "", "JSON `FILE` of environment values, as sam local invoke's: {\"FunctionName\": {\"VAR\": \"value\"}, \"Parameters\": {\"VAR\": \"value\"}} (default: samconfig.toml's local_invoke env_vars)")
	}
	for _, name := range []string{"template", "t"} {
		fs.StringVar(&opts.template, name, "template.yaml", "the SAM `template`")
	}
	fs.Var(paramFlag(opts.params), "param", "template parameter `NAME=VALUE` (repeatable)")
	fs.Func("parameter-overrides", "template parameters as sam takes them: `'NAME=VALUE NAME2=\"VALUE 2\"'`", func(v string) error {
		return parseParameterOverrides(v, opts.params)
	})
	fs.BoolVar(&opts.local, "local", false, "point the function's AWS and Peerdom calls at a running serve's twins and sandbox (else starts them for this invocation)")
	fs.StringVar(&opts.localEndpoint, "local-endpoint", "", "with --local, when several serves run: the `URL` of the local AWS endpoint (serve --aws-addr) of the one to use (default: the only one running)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge invoke FUNCTION [--event FILE|-] [--env-vars FILE] [--local]\n\nWhat `sam local invoke` does, without Docker: builds the function of template.yaml as `sam build`\ndoes (its Makefile target, for this machine's architecture), runs it once under the Lambda Runtime\nInterface Emulator, prints its logs on stderr and its answer on stdout. Exit status 0 when the\nfunction answered (its answer may be an error object, as with sam), 1 when it could not run (an init failure prints Lambda's error\nobject, {\"errorMessage\": …, \"errorType\": …}, as sam does).")
		fs.PrintDefaults()
	}
	argv, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(argv) != 1 {
		fmt.Fprintln(stderr, "peerbridge invoke: name one function of the template, e.g. peerbridge invoke IngestFunction --event events/ingest/role-created.json")
		return 2
	}
	opts.function = argv[0]
	answer, err := invoke(ctx, opts, stdin, stderr)
	if errors.Is(err, errInitFailed) {
		// As sam local invoke: Lambda's error object on stdout; the function's own log
		// lines, saying why, are above on stderr.
		fmt.Fprintf(stdout, "%s\n", answer)
		fmt.Fprintf(stderr, "peerbridge invoke: %v\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge invoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", answer)
	return 0
}

// errInitFailed: the function never answered: its init failed (it exited, or crashed,
// before asking for the event). invoke then returns Lambda's error object for it.
var errInitFailed = errors.New("the function's init failed: see its log above")

var (
	rieFatalType   = regexp.MustCompile(`First fatal error stored in appctx: (\S+)`)
	rieInitFailed  = regexp.MustCompile(`Init failed error=(.*?) InvokeID=`)
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
func invoke(ctx context.Context, opts invokeOptions, stdin io.Reader, stderr io.Writer) ([]byte, error) {
	payload := []byte("{}")
	switch opts.event {
	case "":
	case "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the event from stdin: %w", err)
		}
		payload = b
	default:
		b, err := os.ReadFile(opts.event)
		if err != nil {
			return nil, fmt.Errorf("--event: %w", err)
		}
		payload = b
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("the event is not JSON: give a JSON file, e.g. one of events/")
	}

	var local *serve.LocalDescription
	if opts.local {
		d, stop, err := localTwins(ctx, opts, stderr)
		if err != nil {
			return nil, err
		}
		defer stop()
		local = &d
		for k, v := range d.Params {
			if _, given := opts.params[k]; !given {
				opts.params[k] = v
			}
		}
	}
	tpl, err := samtemplate.Load(opts.template, opts.params)
	if err != nil {
		return nil, fmt.Errorf("reading the template: %w (run from the repository, or give --template)", err)
	}
	fn, _, err := tpl.Function(opts.function)
	if err != nil {
		return nil, err
	}
	env, err := invokeEnv(opts, fn, local)
	if err != nil {
		return nil, err
	}
	bootstrap, err := serve.BuildFunction(ctx, filepath.Dir(opts.template), fn, stderr)
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
func invokeEnv(opts invokeOptions, fn samtemplate.Function, local *serve.LocalDescription) (map[string]string, error) {
	env := map[string]string{}
	for k, v := range fn.Env {
		env[k] = v
	}
	file := opts.envVars
	if file == "" {
		file = samconfigEnvVars(filepath.Join(filepath.Dir(opts.template), "samconfig.toml"))
		if file != "" {
			file = filepath.Join(filepath.Dir(opts.template), file)
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

// localTwins finds a running serve's local AWS endpoint, or starts the pipeline in this
// process for the invocation (its display on stderr), and returns what the function
// needs to reach it; stop ends what was started, once its work is done.
func localTwins(ctx context.Context, opts invokeOptions, stderr io.Writer) (serve.LocalDescription, func(), error) {
	awsOf := func(i serve.AdminInfo) string { return i.AWSEndpoint }
	_, serves, err := serve.RunningServes()
	if err != nil {
		return serve.LocalDescription{}, nil, fmt.Errorf("--local: %w", err)
	}
	if opts.localEndpoint != "" || slices.ContainsFunc(serves, func(r serve.RunningServe) bool { return r.Info.AWSEndpoint != "" }) {
		r, err := serve.PickServe(opts.localEndpoint, "--local-endpoint", awsOf)
		if err != nil {
			return serve.LocalDescription{}, nil, fmt.Errorf("--local: %w", err)
		}
		d, err := fetchLocalDescription(ctx, r.Info)
		if err != nil {
			return d, nil, fmt.Errorf("--local: the serve %s: %w", r, err)
		}
		fmt.Fprintf(stderr, "peerbridge invoke: --local: posting to the running serve %s\n", r)
		return d, func() {}, nil
	}
	fmt.Fprintln(stderr, "peerbridge invoke: --local: no serve running (make run starts one); starting the twins and the sandbox for this invocation")
	s, err := serve.Start(ctx, serve.Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0",
		Template: opts.template, Params: map[string]string{}, LogLevel: "warn", NoAdminFile: true}, stderr, stderr)
	if err != nil {
		return serve.LocalDescription{}, nil, fmt.Errorf("--local: starting the twins: %w", err)
	}
	stop := func() {
		res, err := s.Stop(30 * time.Second)
		if err == nil && res.Spilled+res.Lost > 0 {
			err = errors.New("work was left undone")
		}
		if err != nil {
			fmt.Fprintf(stderr, "peerbridge invoke: --local: %v\n", err)
		}
	}
	return s.Local(), stop, nil
}

// fetchLocalDescription asks a serve's local AWS endpoint what a function needs, signed
// with the credentials of its admin file.
func fetchLocalDescription(ctx context.Context, info serve.AdminInfo) (serve.LocalDescription, error) {
	var d serve.LocalDescription
	if info.AWS == nil {
		return d, errors.New("its admin file holds no credentials for the local AWS endpoint: restart that serve")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(info.AWSEndpoint, "/")+serve.LocalDescriptionPath, nil)
	if err != nil {
		return d, err
	}
	if err := signLocal(ctx, req, *info.AWS, nil); err != nil {
		return d, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return d, fmt.Errorf("%s answered %s: %s", info.AWSEndpoint, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return d, err
	}
	d.Creds = *info.AWS
	return d, nil
}

// signLocal signs req for a local AWS endpoint (SigV4, as an SDK client does).
func signLocal(ctx context.Context, req *http.Request, c localaws.Credentials, body []byte) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "peerbridge", "us-east-1", time.Now())
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
		if err := paramFlag(into).Set(w); err != nil {
			return err
		}
	}
	return nil
}
