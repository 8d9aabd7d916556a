// Package doctor is `peerbridge doctor [--api-url URL] [--write] [--json]`: how the
// organization's Peerdom API behaves, and whether peerbridge works against it
// (internal/doctor).
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	checks "github.com/peerbridge/peerbridge/internal/doctor"
)

// Options are doctor's flags.
type Options struct {
	IO     cmdutil.IOStreams
	Getenv func(string) string // PEERDOM_API_KEY, PEERDOM_API_URL
	API    cmdutil.APIFlag
	Write  bool // also try writes, on a scratch role and peer
	JSON   bool
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, getenv func(string) string, args []string) int {
	opts, err := Parse(ios, getenv, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, getenv func(string) string, args []string) (*Options, error) {
	opts := &Options{IO: ios, Getenv: getenv}
	fs := cmdutil.NewFlagSet("doctor", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge doctor [--api-url URL] [--write] [--json]\n\nFinds out how your organization's Peerdom API behaves where Peerdom's documentation\nleaves it open (paging, /circles or /groups, holders, former peers, custom field types,\nredirects, rate-limit headers) and whether peerbridge works against it. Read-only\nunless --write. Exits 1 when peerbridge would not work. The API key comes from\n$PEERDOM_API_KEY.")
	})
	opts.API.Register(fs)
	fs.BoolVar(&opts.Write, "write", false, "also make a scratch role and peer to learn what writes do, then remove them (Peerdom sends webhooks for each write)")
	fs.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		return nil, cmdutil.Usagef(ios, "doctor", "unexpected argument %q", argv[0])
	}
	return opts, nil
}

// Run checks the API and prints the report: status 1 when peerbridge would not work,
// 2 without an API key.
func Run(ctx context.Context, opts *Options) int {
	api := opts.API.Client("doctor", opts.Getenv, opts.IO.ErrOut)
	if api == nil {
		return 2
	}
	rep := checks.Run(ctx, api, checks.Options{Write: opts.Write})
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		checks.Print(opts.IO.Out, rep)
	}
	if !rep.Works {
		return 1
	}
	return 0
}
