package cmdutil

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/peerbridge/peerbridge/internal/operate"
)

// StackFlags are the flags every command on a deployed stack takes (dlq, replay, status,
// tail).
type StackFlags struct {
	Stack, Region, SAMConfig string
	JSON                     bool
}

// Register adds the flags to fs.
func (f *StackFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Stack, "stack", "", "the deployed stack's name (default: stack_name of samconfig.toml's default environment)")
	fs.StringVar(&f.Region, "region", "", "AWS region (default: AWS_REGION or your profile's region)")
	fs.StringVar(&f.SAMConfig, "samconfig", "samconfig.toml", "the sam configuration that names the default stack")
	fs.BoolVar(&f.JSON, "json", false, "print JSON for scripts instead of a table")
}

// Open loads the AWS configuration with the standard credential chain (profiles, SSO,
// environment; AWS_ENDPOINT_URL for a stand-in such as moto) and finds the stack.
// The Lambdas avoid config.LoadDefaultConfig for their cold start; a command on a
// user's machine needs what it supports.
func (f *StackFlags) Open(ctx context.Context) (aws.Config, operate.Stack, error) {
	name := f.Stack
	if name == "" {
		var err error
		if name, err = operate.DefaultStackName(f.SAMConfig); err != nil {
			return aws.Config{}, operate.Stack{}, err
		}
	}
	var opts []func(*config.LoadOptions) error
	if f.Region != "" {
		opts = append(opts, config.WithRegion(f.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, operate.Stack{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, operate.Stack{}, errors.New("no AWS region: pass --region, or set AWS_REGION or your profile's region")
	}
	st, err := operate.LookupStack(ctx, cfg, name)
	return cfg, st, err
}
