// Package operate is what the peerbridge operator commands (status, dlq, replay, tail) do
// against a deployed stack: find its resources through the CloudFormation outputs, read
// and move the dead-letter queues, sum the metrics, replay the archive. It runs on a
// user's machine, so it takes an aws.Config built with the standard credential chain
// (cmd/peerbridge uses config.LoadDefaultConfig); tests point it at moto.
package operate

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// The template's outputs the commands read (template.yaml, Outputs).
const (
	OutputWebhookURL      = "WebhookUrl"
	OutputWebhookQueueURL = "WebhookQueueUrl"
	OutputWebhookDLQURL   = "WebhookDLQUrl"
	OutputEventDLQURL     = "EventDeliveryDLQUrl"
	OutputEventBusName    = "EventBusName"
	OutputEventArchiveArn = "EventArchiveArn"
	OutputWorkerLogGroup  = "WorkerLogGroupName"
)

// Stack is a deployed peerbridge stack, as its outputs describe it.
type Stack struct {
	Name    string
	Status  string
	Outputs map[string]string
}

// Output is the named output, or an error saying which output the stack lacks (a stack
// deployed from an older template).
func (s Stack) Output(key string) (string, error) {
	if v := s.Outputs[key]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("stack %s has no output %s: deploy the current template.yaml (sam build && sam deploy)", s.Name, key)
}

// WorkerLogGroup is the worker's log group: the output when the stack has it, else the
// name the template gives it.
func (s Stack) WorkerLogGroup() string {
	if v := s.Outputs[OutputWorkerLogGroup]; v != "" {
		return v
	}
	return "/aws/lambda/" + s.Name + "-worker"
}

// ErrStackNotFound is returned (wrapped) for a stack name CloudFormation does not know.
var ErrStackNotFound = errors.New("stack not found")

// LookupStack reads the stack's outputs with cloudformation:DescribeStacks.
func LookupStack(ctx context.Context, cfg aws.Config, name string) (Stack, error) {
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), "does not exist") {
			return Stack{}, fmt.Errorf("%w: no stack %q in region %s: deploy it (sam deploy) or name yours with --stack", ErrStackNotFound, name, cfg.Region)
		}
		return Stack{}, Explain(err, "cloudformation:DescribeStacks")
	}
	if len(out.Stacks) == 0 {
		return Stack{}, fmt.Errorf("%w: no stack %q in region %s", ErrStackNotFound, name, cfg.Region)
	}
	st := out.Stacks[0]
	s := Stack{Name: aws.ToString(st.StackName), Status: string(st.StackStatus), Outputs: map[string]string{}}
	for _, o := range st.Outputs {
		s.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return s, nil
}

// Explain turns an AWS error into one that says what to do: missing credentials, and a
// refused call naming the IAM action the caller lacks. Other errors pass through.
func Explain(err error, action string) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnauthorizedAccess":
			return fmt.Errorf("permission denied: your AWS identity needs the IAM action %s (%s)", action, api.ErrorMessage())
		case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch":
			return fmt.Errorf("AWS refused the credentials (%s): refresh them (aws sso login, or new keys) and retry", api.ErrorCode())
		}
	}
	msg := err.Error()
	if strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "no EC2 IMDS role found") {
		return errors.New("no AWS credentials found: set AWS_PROFILE (after aws sso login or aws configure), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return fmt.Errorf("%s: %w", action, err)
}

// DefaultStackName is the stack_name of samconfig.toml's default environment (the
// [default.global.parameters] or [default.deploy.parameters] table), as `sam deploy`
// uses it. It reads only the key it needs: a line `stack_name = "..."` inside one of
// those tables.
func DefaultStackName(samconfigPath string) (string, error) {
	f, err := os.Open(samconfigPath)
	if err != nil {
		return "", fmt.Errorf("no --stack given and no samconfig.toml to take it from (%w): name the stack with --stack", err)
	}
	defer f.Close()
	var table, global, deploy string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			table = strings.Trim(line, "[] ")
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "stack_name" {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"'`)
		switch table {
		case "default.global.parameters":
			global = value
		case "default.deploy.parameters":
			deploy = value
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", samconfigPath, err)
	}
	// sam lets the command's table override the global one.
	if name := cmp.Or(deploy, global); name != "" {
		return name, nil
	}
	return "", fmt.Errorf("%s names no stack_name in its default environment: name the stack with --stack", samconfigPath)
}
