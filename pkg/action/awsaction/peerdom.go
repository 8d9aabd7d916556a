package awsaction

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/peerbridge/peerbridge/internal/parameter"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// ParameterClient is the part of *ssm.Client that PeerdomClient uses.
type ParameterClient interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// secretTimeout bounds reading the key at the cold start.
const secretTimeout = 10 * time.Second

// PeerdomClient is the action's Peerdom API client: cfg.APIURL, with the key from the
// SecureString parameter cfg.APIKeyParameter (read now, at the cold start, and read again once when the
// API answers 401: the key was rotated since, and a warm container picks up the new one)
// or else cfg.APIKey; its user agent names the action. Errors say which setting or parameter
// is wrong, never the key.
func PeerdomClient(ctx context.Context, name string, cfg action.Config, ps ParameterClient) (*peerdomapi.Client, error) {
	opts := []peerdomapi.Option{peerdomapi.WithUserAgent("peerbridge-" + name)}
	key := cfg.APIKey
	if cfg.APIKeyParameter != "" {
		read := func(ctx context.Context) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, secretTimeout)
			defer cancel()
			value, err := parameter.Fetch(ctx, ps, cfg.APIKeyParameter)
			if err != nil {
				return "", fmt.Errorf("reading the Peerdom API key (PEERDOM_API_KEY_PARAMETER): %w", err)
			}
			key, err := action.APIKeyFromSecret(value)
			if err != nil {
				return "", fmt.Errorf("parameter %q: %w", cfg.APIKeyParameter, err)
			}
			return key, nil
		}
		var err error
		if key, err = read(ctx); err != nil {
			return nil, err
		}
		opts = append(opts, peerdomapi.WithKeySource(read))
	}
	return peerdomapi.New(cfg.APIURL, key, opts...)
}
