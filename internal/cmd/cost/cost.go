// Package cost is `peerbridge cost [--webhooks-per-month N] [--param NAME=VALUE]…
// [--template FILE] [--json]`: the monthly bill of the stack the template deploys
// (internal/cost).
package cost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	pricing "github.com/peerbridge/peerbridge/internal/cost"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// Options are cost's flags.
type Options struct {
	IO               cmdutil.IOStreams
	WebhooksPerMonth int
	Params           map[string]string // template parameters as deployed
	Template         string
	JSON             bool
}

// Main parses args and runs the command.
func Main(ctx context.Context, ios cmdutil.IOStreams, args []string) int {
	opts, err := Parse(ios, args)
	if err != nil {
		return cmdutil.Status(err)
	}
	return Run(ctx, opts)
}

// Parse reads the command line into Options.
func Parse(ios cmdutil.IOStreams, args []string) (*Options, error) {
	opts := &Options{IO: ios, Params: map[string]string{}}
	fs := cmdutil.NewFlagSet("cost", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge cost [--webhooks-per-month N] [--param NAME=VALUE]… [--json]\n\nPrints the monthly AWS bill of the stack template.yaml deploys with those parameters, line by\nline, at the dated us-east-1 list prices in internal/cost/prices.json, from per-webhook figures\nmeasured by a counted run of the local pipeline (make cost-figures); free tiers shown apart.")
	})
	fs.IntVar(&opts.WebhooksPerMonth, "webhooks-per-month", 10000, "webhooks Peerdom sends a `month`")
	fs.Var(cmdutil.ParamFlag(opts.Params), "param", "template parameter `NAME=VALUE` as deployed (repeatable)")
	fs.StringVar(&opts.Template, "template", "template.yaml", "the SAM `template` to price")
	fs.BoolVar(&opts.JSON, "json", false, "print the bill as JSON")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 0 {
		return nil, cmdutil.Usagef(ios, "cost", "unexpected argument %q", argv[0])
	}
	if opts.WebhooksPerMonth < 0 {
		return nil, cmdutil.Usagef(ios, "cost", "--webhooks-per-month must be 0 or more")
	}
	return opts, nil
}

// Run prints the bill: status 2 when the template cannot be read, 1 when the bill
// cannot be made.
func Run(_ context.Context, opts *Options) int {
	tpl, err := samtemplate.Load(opts.Template, opts.Params)
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "peerbridge cost: %v\n", err)
		return 2
	}
	if err := printBill(opts, tpl); err != nil {
		return cmdutil.Fail(opts.IO.ErrOut, "cost", err)
	}
	return 0
}

func printBill(opts *Options, tpl *samtemplate.Template) error {
	fig, err := pricing.Measured()
	if err != nil {
		return err
	}
	prices, err := pricing.ListPrices()
	if err != nil {
		return err
	}
	bill, err := pricing.Estimate(tpl, fig, prices, opts.WebhooksPerMonth)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(bill)
	}
	return pricing.Render(opts.IO.Out, bill, pricing.Shown(tpl, opts.Params))
}
