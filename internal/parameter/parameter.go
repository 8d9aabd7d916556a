// Package parameter reads the Peerdom API key from a Systems Manager SecureString
// parameter: free at the standard tier, where a Secrets Manager secret costs $0.40 a
// month (issue 22). It is the only place peerbridge calls GetParameter, and apart from
// internal/secrets so that a function links only the client it calls (the actions SSM,
// ingest Secrets Manager). Errors name the parameter, never its value.
package parameter

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ErrEmpty is returned (wrapped) when the parameter exists but holds no value.
var ErrEmpty = errors.New("parameter has no value")

// Client is the part of *ssm.Client that Fetch uses.
type Client interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Fetch returns the current value of the Systems Manager parameter with the
// given name (or ARN), decrypted when it is a SecureString. A SecureString parameter of
// the standard tier is free; a Secrets Manager secret costs $0.40 a month.
func Fetch(ctx context.Context, client Client, name string) (string, error) {
	if name == "" {
		return "", errors.New("parameter: no parameter name given")
	}
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("parameter: read parameter %q: %w", name, err)
	}
	if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
		return "", fmt.Errorf("parameter: read parameter %q: %w", name, ErrEmpty)
	}
	return aws.ToString(out.Parameter.Value), nil
}
