package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/peerbridge/peerbridge/internal/cost"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// runCost implements `peerbridge cost [--webhooks-per-month N] [--param NAME=VALUE]…
// [--template FILE] [--json]`: the monthly bill of the stack the template deploys
// (internal/cost).
func runCost(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	webhooks := fs.Int("webhooks-per-month", 10000, "webhooks Peerdom sends a `month`")
	params := paramFlag{}
	fs.Var(params, "param", "template parameter `NAME=VALUE` as deployed (repeatable)")
	template := fs.String("template", "template.yaml", "the SAM `template` to price")
	asJSON := fs.Bool("json", false, "print the bill as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge cost [--webhooks-per-month N] [--param NAME=VALUE]… [--json]\n\nPrints the monthly AWS bill of the stack template.yaml deploys with those parameters, line by\nline, at the dated us-east-1 list prices in internal/cost/prices.json, from per-webhook figures\nmeasured by a counted run of the local pipeline (make cost-figures); free tiers shown apart.")
		fs.PrintDefaults()
	}
	argv, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(argv) > 0 {
		fmt.Fprintf(stderr, "peerbridge cost: unexpected argument %q\n", argv[0])
		return 2
	}
	if *webhooks < 0 {
		fmt.Fprintln(stderr, "peerbridge cost: --webhooks-per-month must be 0 or more")
		return 2
	}
	tpl, err := samtemplate.Load(*template, params)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge cost: %v\n", err)
		return 2
	}
	fig, err := cost.Measured()
	if err == nil {
		var prices *cost.Prices
		if prices, err = cost.ListPrices(); err == nil {
			var bill *cost.Bill
			if bill, err = cost.Estimate(tpl, fig, prices, *webhooks); err == nil {
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					err = enc.Encode(bill)
				} else {
					err = cost.Render(stdout, bill, cost.Shown(tpl, params))
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge cost: %v\n", err)
		return 1
	}
	return 0
}
