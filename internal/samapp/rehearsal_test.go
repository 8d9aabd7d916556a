//go:build saminvoke

package samapp

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/creack/pty"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// The stack docs/deploy.md deploys: samconfig.toml's default stack_name, and the stack
// `sam deploy` keeps its artifact bucket in.
const (
	rehearsalStack = "peerbridge"
	samManagedName = "aws-sam-cli-managed-default"
)

// docDeployParams are the values docs/deploy.md's first-deploy command means to pass;
// the test checks the command names exactly these, and that SAM received each whole.
var docDeployParams = map[string]string{
	"PeerdomApiKeyParameterName": "/peerbridge/peerdom-api-key",
	"OnboardingRoleIds":          "ROLE_ID,ROLE_ID",
	"IgnoreAuthors":              "owner@example.org",
	"RoleDefaults":               `{"Purpose": "To be defined"}`,
	"Endpoint":                   "HttpApi",
}

// docDeployCommand is the `sam deploy --guided` command of docs/deploy.md's first deploy,
// as written there (continuation lines included), in a ```sh aws block.
func docDeployCommand(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	inBlock := false
	var cmd []string
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```sh aws"):
			inBlock = true
		case strings.HasPrefix(trimmed, "```"):
			inBlock = false
		case inBlock && cmd == nil && strings.Contains(trimmed, "sam deploy --guided --parameter-overrides"):
			cmd = []string{line} // as written: a space after a final \ would break it for a user too
		case inBlock && cmd != nil:
			cmd = append(cmd, line)
		}
		if cmd != nil && !strings.HasSuffix(cmd[len(cmd)-1], `\`) {
			found = append(found, strings.Join(cmd, "\n"))
			cmd = nil
		}
	}
	if len(found) != 1 {
		t.Fatalf("docs/deploy.md: want one `sam deploy --guided --parameter-overrides` command in a ```sh aws block, found %d", len(found))
	}
	return found[0]
}

var (
	ansi         = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	paramPrompt  = regexp.MustCompile(`^Parameter (\w+) \[(.*)\]: $`)
	noEchoPrompt = regexp.MustCompile(`^Parameter \w+: $`)
	overrides    = regexp.MustCompile(`(?m)^\s*Parameter overrides\s*: (\{.*\})\s*$`)
)

// guided runs command through bash in a pseudo-terminal, in dir, answering every prompt
// (a line ending in "]: ", or a NoEcho parameter's "Parameter X: ") with its default, and `y` to SAM's "has no authentication"
// questions. It returns the prompts in order, and the whole output without colours.
func guided(t *testing.T, dir, command string, env []string) (prompts []string, output string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Dir, cmd.Env = dir, env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				chunks <- bytes.Clone(buf[:n])
			}
			if err != nil { // EIO once the child has exited
				return
			}
		}
	}()
	var raw bytes.Buffer
	stuck := "" // the prompt still asked after 100 answers
	for c := range chunks {
		raw.Write(c)
		text := strings.ReplaceAll(ansi.ReplaceAllString(raw.String(), ""), "\r", "")
		last := strings.TrimLeft(text[strings.LastIndex(text, "\n")+1:], " \t")
		// A prompt shows its default in brackets; a NoEcho parameter's shows none.
		if !strings.HasSuffix(last, "]: ") && !noEchoPrompt.MatchString(last) {
			continue
		}
		if stuck != "" {
			continue // killed: drain what is left
		}
		prompts = append(prompts, last)
		if len(prompts) > 100 {
			stuck = last
			cmd.Process.Kill()
			continue
		}
		answer := "\r"
		if strings.Contains(last, "has no authentication. Is this okay?") {
			answer = "y\r"
		}
		if _, err := f.Write([]byte(answer)); err != nil {
			t.Fatalf("answer %q: %v", last, err)
		}
		// The terminal echoes the answer, so the last line no longer ends in "]: ".
	}
	err = cmd.Wait()
	output = strings.ReplaceAll(ansi.ReplaceAllString(raw.String(), ""), "\r", "")
	if ctx.Err() != nil {
		t.Fatalf("sam deploy --guided did not end within 5 minutes:\n%s", output)
	}
	t.Logf("sam deploy --guided (exit: %v):\n%s", err, output)
	if stuck != "" {
		t.Fatalf("more than 100 prompts, the last asked again and again: %q", stuck)
	}
	return prompts, output
}

// TestFirstDeployRehearsal is docs/deploy.md's first deploy against moto: its exact
// `sam deploy --guided` command, run by a shell in a pseudo-terminal with the default
// answer to every prompt, must get every parameter to SAM whole; the built application,
// packaged into moto's S3, must then create the stack, which `peerbridge status` and
// `peerbridge dlq list` read.
func TestFirstDeployRehearsal(t *testing.T) {
	root := repoRoot(t)
	build := buildDir(t, "PEERBRIDGE_SAM_BUILD")
	command := docDeployCommand(t)
	t.Logf("docs/deploy.md's command:\n%s", command)
	for _, k := range regexp.MustCompile(`(?:^|[\s"'])([A-Z]\w+)=`).FindAllStringSubmatch(command, -1) {
		if _, ok := docDeployParams[k[1]]; !ok {
			t.Errorf("docs/deploy.md passes %s, which this test does not know the meaning of: add it to docDeployParams", k[1])
		}
	}

	// A moto of its own: the stack's names are a user's (peerbridge-events, …), which the
	// emulator tests of this package also use on the shared server.
	own := mototest.Own(t)
	mototest.SetEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", own)
	ctx := context.Background()
	cfg := aws.Config{Region: mototest.Region, BaseEndpoint: aws.String(own),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})}
	cf := cloudformation.NewFromConfig(cfg)

	// Step 1 of the page: the webhook token's parameter, under the name the stack reads
	// by default (the page's command must name it), and the API key's.
	tokenParam := "/" + rehearsalStack + "/webhook-token"
	if page, _ := os.ReadFile(filepath.Join(root, "docs", "deploy.md")); !strings.Contains(string(page),
		"aws ssm put-parameter --name "+tokenParam+" --type SecureString --value \"$(openssl rand -hex 20)\"") {
		t.Errorf("docs/deploy.md does not store the webhook token in %s, the parameter the stack %s reads", tokenParam, rehearsalStack)
	}
	for name, value := range map[string]string{tokenParam: "tok-rehearsal-0123456789abcdef0123456789ab", docDeployParams["PeerdomApiKeyParameterName"]: "pd-key-rehearsal"} {
		if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name),
			Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	// `sam deploy` keeps its artifacts in a bucket of a stack it creates once per account
	// and region, tagged and with the bucket as an output. The stack moto makes from SAM's
	// change set lacks the tags or outputs SAM then checks, so it is created here as SAM
	// would leave it.
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(samManagedName),
		TemplateBody: aws.String("Resources:\n  SamCliSourceBucket:\n    Type: AWS::S3::Bucket\nOutputs:\n  SourceBucket:\n    Value: !Ref SamCliSourceBucket\n"),
		Tags:         []cftypes.Tag{{Key: aws.String("ManagedStackSource"), Value: aws.String("AwsSamCli")}}}); err != nil {
		t.Fatal(err)
	}

	// A clone after `make venv` and `sam build`: the repository's files, its .venv and the
	// build; the guided deploy writes its answers into this samconfig.toml.
	dir := t.TempDir()
	for _, f := range []string{"template.yaml", "samconfig.toml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".aws-sam"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{".venv": filepath.Join(root, ".venv"), ".aws-sam/build": build} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	// SetEnv's empty AWS_PROFILE would be a profile named "" to SAM: unset instead.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return kv == "AWS_PROFILE=" || kv == "AWS_SESSION_TOKEN=" })
	env = append(env, "HOME="+t.TempDir(), "SAM_CLI_TELEMETRY=0", "AWS_DEFAULT_REGION="+mototest.Region, "TERM=xterm")

	prompts, output := guided(t, dir, command, env)

	// Every prompt once (a NoEcho parameter with an empty default is asked again and again).
	for i, p := range prompts {
		if slices.Contains(prompts[:i], p) {
			t.Errorf("prompt asked again: %q", p)
		}
	}
	raw := loadRaw(t)
	params := raw["Parameters"].(map[string]any)
	prompted := map[string]string{}
	for _, p := range prompts {
		if m := paramPrompt.FindStringSubmatch(p); m != nil {
			prompted[m[1]] = m[2]
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(prompted)), slices.Sorted(maps.Keys(params))) {
		t.Errorf("parameters prompted %v, want the template's %v", slices.Sorted(maps.Keys(prompted)), slices.Sorted(maps.Keys(params)))
	}
	for _, want := range []string{"IngestFunction has no authentication. Is this okay? [y/N]: ", "Save arguments to configuration file [Y/n]: "} {
		if !slices.Contains(prompts, want) {
			t.Errorf("no prompt %q", want)
		}
	}
	m := overrides.FindStringSubmatch(output)
	if m == nil {
		t.Fatalf("sam deploy --guided did not reach \"Deploying with following values\" (Parameter overrides)")
	}
	var received map[string]string
	if err := json.Unmarshal([]byte(m[1]), &received); err != nil {
		t.Fatalf("Parameter overrides: %v: %s", err, m[1])
	}
	for name, p := range params {
		want := docDeployParams[name]
		if _, ok := docDeployParams[name]; !ok {
			want = stringDefault(dig(p, "Default"))
		}
		if received[name] != want || prompted[name] != want {
			t.Errorf("parameter %s: SAM received %q (prompt default %q), want %q", name, received[name], prompted[name], want)
		}
	}
	var roleDefaults map[string]string
	if err := json.Unmarshal([]byte(received["RoleDefaults"]), &roleDefaults); err != nil || roleDefaults["Purpose"] != "To be defined" {
		t.Errorf("RoleDefaults %q is not the JSON object the docs pass: %v", received["RoleDefaults"], err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "samconfig.toml"))
	if err != nil || !strings.Contains(string(saved), `RoleDefaults=\"{\\\"Purpose\\\": \\\"To be defined\\\"}\"`) {
		t.Errorf("samconfig.toml after the guided deploy (%v) does not hold RoleDefaults whole:\n%s", err, saved)
	}

	// moto cannot create the change set SAM asks for (it cannot read the template from
	// the S3 URL SAM gives), so: the same build, packaged into the same bucket, transformed
	// as CloudFormation does, created from its body with the values SAM received.
	bucket := stackOutputs(t, cf, samManagedName)["SourceBucket"]
	pkg := exec.Command(filepath.Join(dir, ".venv", "bin", "sam"), "package", "--s3-bucket", bucket, "--s3-prefix", rehearsalStack, "--output-template-file", "packaged.yaml")
	pkg.Dir, pkg.Env = dir, env
	if out, err := pkg.CombinedOutput(); err != nil {
		t.Fatalf("sam package: %v\n%s", err, out)
	}
	encoded, _ := json.Marshal(received)
	var stderr bytes.Buffer
	tr := exec.Command(mototest.Python(), filepath.Join("testdata", "deploy_transform.py"), filepath.Join(dir, "packaged.yaml"), string(encoded))
	tr.Env, tr.Stderr = env, &stderr
	body, err := tr.Output()
	if err != nil {
		t.Fatalf("deploy_transform.py: %v\n%s", err, stderr.String())
	}
	// SAM's failed change set left the new stack in REVIEW_IN_PROGRESS, as CloudFormation does.
	cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(rehearsalStack)})
	var cfParams []cftypes.Parameter
	for k, v := range received {
		cfParams = append(cfParams, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(rehearsalStack), TemplateBody: aws.String(string(body)),
		Parameters: cfParams, Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam, cftypes.CapabilityCapabilityAutoExpand}}); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	if err := cloudformation.NewStackCreateCompleteWaiter(cf, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	}).Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(rehearsalStack)}, 2*time.Minute); err != nil {
		t.Fatalf("stack %s: %v", rehearsalStack, err)
	}
	res, err := cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String(rehearsalStack)})
	if err != nil {
		t.Fatal(err)
	}
	var functions []string
	for _, r := range res.StackResourceSummaries {
		if aws.ToString(r.ResourceType) == "AWS::Lambda::Function" {
			functions = append(functions, aws.ToString(r.LogicalResourceId))
		}
	}
	if want := slices.Sorted(maps.Keys(functionFolders)); !slices.Equal(slices.Sorted(slices.Values(functions)), want) {
		t.Errorf("the docs' deploy created functions %v, want %v (the pipeline and every action)", functions, want)
	}

	// What the operator commands must find: one webhook waiting, one dead-lettered.
	outputs := stackOutputs(t, cf, rehearsalStack)
	if want := "aws ssm get-parameter --region " + mototest.Region + " --name " + tokenParam + " --with-decryption --query Parameter.Value --output text"; outputs["WebhookTokenCommand"] != want {
		t.Errorf("WebhookTokenCommand output %q, want %q", outputs["WebhookTokenCommand"], want)
	}
	q := sqs.NewFromConfig(cfg)
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(outputs["WebhookQueueUrl"]), MessageBody: aws.String(`{"text":"waiting"}`)}); err != nil {
		t.Fatal(err)
	}
	sent, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(outputs["WebhookDLQUrl"]), MessageBody: aws.String(`{"text":"dead-lettered"}`)})
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "peerbridge")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "peerbridge")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	status := runPeerbridge(t, bin, "status", "--stack", rehearsalStack, "--json")
	var s operate.Status
	if err := json.Unmarshal([]byte(status), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, status)
	}
	if s.Stack != rehearsalStack || s.Queue.Visible != 1 || len(s.DLQs) != 2 || s.DLQs[0].Visible != 1 || s.DLQs[1].Visible != 0 {
		t.Errorf("status --stack %s: %+v, want the created queues: 1 webhook waiting, 1 dead-lettered", rehearsalStack, s)
	}
	list := runPeerbridge(t, bin, "dlq", "list", "--stack", rehearsalStack)
	if !strings.Contains(list, aws.ToString(sent.MessageId)) {
		t.Errorf("dlq list --stack %s does not list the dead-lettered message %s:\n%s", rehearsalStack, aws.ToString(sent.MessageId), list)
	}
}

func stringDefault(v any) string {
	switch d := v.(type) {
	case nil:
		return ""
	case string:
		return d
	default:
		b, _ := json.Marshal(d)
		return string(b)
	}
}

func stackOutputs(t *testing.T, cf *cloudformation.Client, name string) map[string]string {
	t.Helper()
	out, err := cf.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m
}

func runPeerbridge(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("peerbridge %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("peerbridge %s:\n%s", strings.Join(args, " "), stdout.String())
	return stdout.String()
}
