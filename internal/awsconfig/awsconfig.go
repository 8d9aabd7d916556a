// Package awsconfig builds the aws.Config of a Lambda function from its environment,
// without config.LoadDefaultConfig. In Lambda the region and the function role's
// credentials are always environment variables, so the shared config files, SSO, STS
// role assumption and instance metadata that LoadDefaultConfig supports are never used
// here — but linking them costs every cold start: their endpoint packages compile
// regular expressions at init. Service clients built from the Config keep the SDK's own
// defaults for everything else (retryer, HTTP client, timeouts), as with
// LoadDefaultConfig.
package awsconfig

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// ErrNoCredentials is what every AWS call answers when the environment had no
// credentials (Lambda always sets them; elsewhere, set them or don't call AWS).
var ErrNoCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them for the function's role)")

// FromEnv reads the configuration from getenv (os.Getenv in a Lambda):
//
//   - AWS_REGION, else AWS_DEFAULT_REGION;
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (optional); without
//     them the Config is still returned, and each AWS call fails with ErrNoCredentials,
//     so a function that needs no AWS call (a local run with plain settings) can start;
//   - AWS_ENDPOINT_URL for every service, and AWS_ENDPOINT_URL_SQS,
//     AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_DYNAMODB for one service, as
//     the SDK documents them (a local stand-in such as moto).
//
// Only a half-set key pair is an error.
func FromEnv(getenv func(string) string) (aws.Config, error) {
	cfg := aws.Config{
		Region: getenv("AWS_REGION"),
		Logger: logging.NewStandardLogger(os.Stderr), // what LoadDefaultConfig sets
	}
	if cfg.Region == "" {
		cfg.Region = getenv("AWS_DEFAULT_REGION")
	}

	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	case id != "" || secret != "":
		return aws.Config{}, errors.New("AWS credentials are half set: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
	default:
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, ErrNoCredentials
		})
	}

	if ep := getenv("AWS_ENDPOINT_URL"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	// A service client asks its config sources for AWS_ENDPOINT_URL_<its SDK id>; the
	// names are spelled out so that every variable read is a constant (internal/envscan).
	cfg.ConfigSources = []any{serviceEndpoints{
		"SQS":             getenv("AWS_ENDPOINT_URL_SQS"),
		"EventBridge":     getenv("AWS_ENDPOINT_URL_EVENTBRIDGE"),
		"Secrets Manager": getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
		"DynamoDB":        getenv("AWS_ENDPOINT_URL_DYNAMODB"),
	}}
	return cfg, nil
}

// serviceEndpoints maps a service's SDK id to the endpoint configured for it alone. The
// service clients find it by its method (configsources.ServiceBaseEndpointProvider).
type serviceEndpoints map[string]string

// GetServiceBaseEndpoint is the SDK's hook for a per-service endpoint.
func (s serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	ep := s[sdkID]
	return ep, ep != "", nil
}
