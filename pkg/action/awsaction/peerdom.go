package awsaction

import (
	"context"
	"fmt"
	"time"

	"github.com/peerbridge/peerbridge/internal/secrets"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// SecretsClient is the part of *secretsmanager.Client that PeerdomClient uses.
type SecretsClient = secrets.Client

// secretTimeout bounds reading the key at the cold start.
const secretTimeout = 10 * time.Second

// PeerdomClient is the action's Peerdom API client: cfg.APIURL, with the key from the
// secret cfg.APIKeySecretID (read now, once per container: a rotated key reaches new
// containers; old ones keep the key they started with) or else cfg.APIKey; its user
// agent names the action. Errors say which setting or secret is wrong, never the key.
func PeerdomClient(ctx context.Context, name string, cfg action.Config, sm SecretsClient) (*peerdomapi.Client, error) {
	key := cfg.APIKey
	if cfg.APIKeySecretID != "" {
		ctx, cancel := context.WithTimeout(ctx, secretTimeout)
		defer cancel()
		value, err := secrets.Fetch(ctx, sm, cfg.APIKeySecretID)
		if err != nil {
			return nil, fmt.Errorf("reading the Peerdom API key (PEERDOM_API_KEY_SECRET_ID): %w", err)
		}
		if key, err = action.APIKeyFromSecret(value); err != nil {
			return nil, fmt.Errorf("secret %q: %w", cfg.APIKeySecretID, err)
		}
	}
	return peerdomapi.New(cfg.APIURL, key, peerdomapi.WithUserAgent("peerbridge-"+name))
}
