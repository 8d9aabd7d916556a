package operate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/operate/operatetest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// deployStack creates the test stack in moto and returns what LookupStack reads of it.
func deployStack(t *testing.T) Stack {
	t.Helper()
	s, err := LookupStack(context.Background(), mototest.Config(t), operatetest.Deploy(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookupStackReadsOutputs(t *testing.T) {
	t.Parallel() // a stack of its own
	s := deployStack(t)
	for _, key := range []string{OutputWebhookQueueURL, OutputWebhookDLQURL, OutputEventDLQURL, OutputEventBusName} {
		v, err := s.Output(key)
		if err != nil || v == "" {
			t.Errorf("output %s: %q, %v", key, v, err)
		}
	}
	if v, _ := s.Output(OutputEventBusName); v != s.Name+"-events" {
		t.Errorf("bus name %q", v)
	}
	if _, err := s.Output(OutputWorkerLogGroup); err == nil || !strings.Contains(err.Error(), "no output WorkerLogGroupName") {
		t.Errorf("missing output: %v", err)
	}
	if got := s.WorkerLogGroup(); got != "/aws/lambda/"+s.Name+"-worker" {
		t.Errorf("worker log group %q", got)
	}
}

func TestLookupStackMissing(t *testing.T) {
	_, err := LookupStack(context.Background(), mototest.Config(t), "no-such-stack")
	if !errors.Is(err, ErrStackNotFound) || !strings.Contains(err.Error(), `no stack "no-such-stack" in region us-east-1`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultStackName(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "samconfig.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ toml, want string }{
		{"version = 0.1\n[default.global.parameters]\nstack_name = \"peerbridge\"\n[prod.global.parameters]\nstack_name = \"peerbridge-prod\"\n", "peerbridge"},
		{"[default.global.parameters]\nstack_name = \"a\"\n[default.deploy.parameters]\nstack_name = 'b'\n", "b"},
	} {
		if got, err := DefaultStackName(write(c.toml)); got != c.want || err != nil {
			t.Errorf("%q: %q, %v", c.toml, got, err)
		}
	}
	if _, err := DefaultStackName(write("[prod.global.parameters]\nstack_name = \"p\"\n")); err == nil || !strings.Contains(err.Error(), "--stack") {
		t.Errorf("no default: %v", err)
	}
	if _, err := DefaultStackName(filepath.Join(dir, "none.toml")); err == nil || !strings.Contains(err.Error(), "--stack") {
		t.Errorf("no file: %v", err)
	}
	// The repository's own samconfig.toml.
	if got, err := DefaultStackName("../../samconfig.toml"); got != "peerbridge" || err != nil {
		t.Errorf("repository samconfig: %q, %v", got, err)
	}
}

func TestExplainNamesTheAction(t *testing.T) {
	err := Explain(&fakeAPIError{code: "AccessDenied", msg: "User is not authorized"}, "sqs:PurgeQueue")
	if !strings.Contains(err.Error(), "needs the IAM action sqs:PurgeQueue") {
		t.Errorf("%v", err)
	}
	err = Explain(fmt.Errorf("operation error SQS: ReceiveMessage, failed to retrieve credentials: boom"), "sqs:ReceiveMessage")
	if !strings.Contains(err.Error(), "no AWS credentials found") {
		t.Errorf("%v", err)
	}
}

type fakeAPIError struct{ code, msg string }

func (e *fakeAPIError) Error() string                 { return e.code + ": " + e.msg }
func (e *fakeAPIError) ErrorCode() string             { return e.code }
func (e *fakeAPIError) ErrorMessage() string          { return e.msg }
func (e *fakeAPIError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

func sqsClient(t *testing.T) *sqs.Client { return sqs.NewFromConfig(mototest.Config(t)) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
