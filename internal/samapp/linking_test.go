package samapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sdk = "github.com/aws/aws-sdk-go-v2/"

// links are the SDK packages each function must (true) and must not (false) link: only
// the clients it calls, so no other client's initialisation runs in its cold start.
var links = map[string]map[string]bool{
	"IngestFunction":       {"service/sqs": true, "service/dynamodb": false, "service/secretsmanager": true, "service/eventbridge": false, "service/ssm": true},
	"WorkerFunction":       {"service/eventbridge": true, "service/dynamodb": false, "service/sqs": false, "service/secretsmanager": false, "service/ssm": false},
	"OnboardPeerFunction":  {"service/ssm": true, "service/secretsmanager": false, "service/dynamodb": true, "service/eventbridge": false, "service/sqs": false},
	"RoleDefaultsFunction": {"service/ssm": true, "service/secretsmanager": false, "service/dynamodb": true, "service/eventbridge": false, "service/sqs": false},
	"EnrichFunction":       {"service/ssm": true, "service/secretsmanager": false, "service/dynamodb": true, "service/eventbridge": true, "service/sqs": false},
	"ReconcileFunction":    {"service/ssm": true, "service/secretsmanager": false, "service/dynamodb": true, "service/eventbridge": true, "service/sqs": false},
}

// neverLinked are what config.LoadDefaultConfig brings in for credentials Lambda never
// uses (profiles, SSO, role assumption, instance metadata); their endpoint packages
// compile regular expressions at init. internal/awsconfig builds the config instead.
var neverLinked = []string{"config", "service/sts", "service/sso", "service/ssooidc", "service/signin", "feature/ec2/imds"}

// deps lists the packages pkg links when built as the Lambdas are.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", pkg)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	set := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		set[p] = true
	}
	return set
}

func TestEachFunctionLinksOnlyTheClientsItUses(t *testing.T) {
	for id, dir := range functionFolders {
		linked := deps(t, "./"+dir)
		for p, want := range links[id] {
			if linked[sdk+p] != want {
				t.Errorf("%s links %s: %v, want %v", id, sdk+p, linked[sdk+p], want)
			}
		}
		for _, p := range neverLinked {
			if linked[sdk+p] {
				t.Errorf("%s links %s", id, sdk+p)
			}
		}
	}
}

func TestPublicActionPackageLinksNoAWS(t *testing.T) {
	for p := range deps(t, "./pkg/action") {
		if strings.HasPrefix(p, "github.com/aws/") {
			t.Errorf("pkg/action links %s: Lambda and AWS belong in pkg/action/awsaction", p)
		}
	}
}

// TestConfigurationErrorEndsTheColdStart: with no configuration, each function's
// bootstrap writes one JSON log line saying it cannot start and why, and exits non-zero,
// which Lambda reports as an init failure.
func TestConfigurationErrorEndsTheColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	bin := t.TempDir()
	for id, dir := range functionFolders {
		exe := filepath.Join(bin, id)
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", exe, "./"+dir)
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", id, err, out)
		}
		var stdout, stderr bytes.Buffer
		run := exec.Command(exe)
		run.Env = []string{"AWS_REGION=us-east-1"}
		run.Stdout, run.Stderr = &stdout, &stderr
		err := run.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("%s: exit %v, want a non-zero status", id, err)
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		var line map[string]any
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil || line["level"] != "ERROR" ||
			!strings.Contains(fmt.Sprint(line["msg"]), "cannot start") || !strings.Contains(fmt.Sprint(line["error"]), "set") || stderr.Len() != 0 {
			t.Errorf("%s: want one JSON error line naming what to set; stdout:\n%s\nstderr:\n%s", id, stdout.String(), stderr.String())
		}
	}
}
