// Package secrets reads a secret's value from AWS Secrets Manager. It is the only place
// peerbridge calls GetSecretValue; callers decide what the value means (the webhook
// tokens; the Peerdom API key is a parameter, internal/parameter). Errors name the
// secret id, never its value.
package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Client is the part of *secretsmanager.Client that Fetch uses.
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ErrEmpty is returned (wrapped) when the secret exists but holds no value.
var ErrEmpty = errors.New("secret has no value")

// Fetch returns the current value of the secret with the given id (name or ARN): its
// SecretString, or its SecretBinary as a string when no string is stored.
func Fetch(ctx context.Context, client Client, id string) (string, error) {
	if id == "" {
		return "", errors.New("secrets: no secret id given")
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("secrets: read secret %q: %w", id, err)
	}
	switch {
	case out.SecretString != nil && *out.SecretString != "":
		return *out.SecretString, nil
	case len(out.SecretBinary) > 0:
		return string(out.SecretBinary), nil
	}
	return "", fmt.Errorf("secrets: read secret %q: %w", id, ErrEmpty)
}
