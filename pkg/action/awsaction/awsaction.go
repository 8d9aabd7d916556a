// Package awsaction runs an action.Handler as an AWS Lambda function behind an
// EventBridge rule: it reads the configuration from the environment, reads the Peerdom
// API key from Secrets Manager once per container, builds the API client and the
// handler, and starts the Lambda runtime. The AWS calls themselves are internal/secrets' and
// internal/bus/eventbridgebus'.
package awsaction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/peerbridge/peerbridge/internal/bus/eventbridgebus"
	"github.com/peerbridge/peerbridge/internal/logging"
	"github.com/peerbridge/peerbridge/internal/secrets"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Setup is what a Build function gets to make its handler.
type Setup struct {
	Config action.Config
	API    *peerdomapi.Client
	Getenv func(string) string // for the action's own settings
	Logger *slog.Logger
	// AWS returns the AWS configuration (from the environment), loaded on first use.
	AWS func(ctx context.Context) (aws.Config, error)
}

// Build makes an action's handler, typically from Setup.API and its own settings.
type Build func(ctx context.Context, s Setup) (action.Handler, error)

// Deps are the process's inputs; zero fields take the real ones.
type Deps struct {
	Getenv  func(string) string                       // os.Getenv
	LoadAWS func(context.Context) (aws.Config, error) // config.LoadDefaultConfig
	Log     io.Writer                                 // os.Stdout
}

// initTimeout bounds the cold start's own calls (reading the secret).
const initTimeout = 10 * time.Second

// NewRunner does the cold start: configuration, API key, client, handler.
func NewRunner(ctx context.Context, name string, d Deps, build Build) (*action.Runner, error) {
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if d.LoadAWS == nil {
		d.LoadAWS = func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) }
	}
	if d.Log == nil {
		d.Log = os.Stdout
	}
	logger := logging.New(d.Log, d.Getenv("LOG_LEVEL")).With(slog.String("action", name))
	cfg, err := action.LoadConfig(d.Getenv)
	if err != nil {
		return nil, err
	}
	loadAWS := sync.OnceValues(func() (aws.Config, error) { return d.LoadAWS(ctx) })
	awsConfig := func(context.Context) (aws.Config, error) { return loadAWS() }

	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	key := cfg.APIKey
	if cfg.APIKeySecretID != "" {
		// Read once per container: a rotated key reaches new containers; old ones keep
		// the key they started with until Lambda retires them.
		awsCfg, err := awsConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: loading the AWS configuration: %w", name, err)
		}
		value, err := secrets.Fetch(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.APIKeySecretID)
		if err != nil {
			return nil, fmt.Errorf("%s: reading the Peerdom API key: %w", name, err)
		}
		if key, err = action.APIKeyFromSecret(value); err != nil {
			return nil, fmt.Errorf("%s: secret %q: %w", name, cfg.APIKeySecretID, err)
		}
	}
	api, err := peerdomapi.New(cfg.APIURL, key, peerdomapi.WithUserAgent("peerbridge-"+name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	h, err := build(ctx, Setup{Config: cfg, API: api, Getenv: d.Getenv, Logger: logger, AWS: awsConfig})
	if err != nil {
		return nil, err
	}
	once, err := newOnce(ctx, d.Getenv, awsConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	logger.Info("ready", slog.Any("config", cfg))
	return &action.Runner{Name: name, Handler: h, IgnoreAuthors: cfg.IgnoreAuthors, Logger: logger, Once: once}, nil
}

// Start runs the action as a Lambda function. A configuration error is logged and ends
// the process, which Lambda reports as an init failure and retries.
func Start(name string, build Build) {
	r, err := NewRunner(context.Background(), name, Deps{}, build)
	if err != nil {
		logging.New(os.Stdout, os.Getenv("LOG_LEVEL")).Error("cannot start", slog.String("action", name), slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(r.Lambda)
}

// The shipped actions' Build functions, each reading its own settings (action.NewBuiltin).

// OnboardPeer reads ONBOARDING_ROLE_IDS.
func OnboardPeer(_ context.Context, s Setup) (action.Handler, error) {
	return action.NewBuiltin(action.NameOnboardPeer, s.API, s.Getenv, nil)
}

// RoleDefaults reads ROLE_DEFAULTS.
func RoleDefaults(_ context.Context, s Setup) (action.Handler, error) {
	return action.NewBuiltin(action.NameRoleDefaults, s.API, s.Getenv, nil)
}

// Enrich publishes to the EventBridge bus EVENT_BUS_NAME with source EVENT_SOURCE.
func Enrich(ctx context.Context, s Setup) (action.Handler, error) {
	if s.Config.EventBusName == "" {
		return nil, errors.New("enrich: set EVENT_BUS_NAME to the bus the snapshots go to")
	}
	awsCfg, err := s.AWS(ctx)
	if err != nil {
		return nil, fmt.Errorf("enrich: loading the AWS configuration: %w", err)
	}
	return action.NewBuiltin(action.NameEnrich, s.API, s.Getenv, eventbridgebus.New(eventbridge.NewFromConfig(awsCfg), s.Config.EventBusName))
}
