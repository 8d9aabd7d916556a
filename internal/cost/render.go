package cost

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Render writes the bill as a table: each line, the total at list prices, the free
// tiers, the total after them, and the notes. given are the parameters named on the
// command line (shown; the rest are the template's defaults).
func Render(w io.Writer, b *Bill, given map[string]string) error {
	fmt.Fprintf(w, "A month of the stack template.yaml deploys, at %s webhooks a month\n", group(float64(b.WebhooksPerMonth)))
	if len(given) == 0 {
		fmt.Fprintln(w, "parameters: the template's defaults")
	} else {
		var ps []string
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range given {
				if !yield(k) {
					return
				}
			}
		}) {
			ps = append(ps, k+"="+given[k])
		}
		fmt.Fprintf(w, "parameters: %s (the rest: the template's defaults)\n", strings.Join(ps, " "))
	}
	fmt.Fprintf(w, "prices: us-east-1 list prices of %s; per-webhook figures measured %s\n\n", b.PricesDate, b.FiguresDate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(service, item, qty, unit, amount string) {
		fmt.Fprintf(tw, "%s\t%s\t%12s %-13s %10s\n", service, item, qty, unit, amount)
	}
	row("service", "item", "quantity", "unit", "USD/month")
	for _, l := range b.Lines {
		row(l.Service, l.Item, quantity(l.Quantity), l.Unit, usd(l.Cost))
	}
	row("", "total at list prices", "", "", usd(b.Total))
	for _, c := range b.Credits {
		row("free tier", c.Tier, "", "", "-"+usd(c.Amount))
	}
	row("", "total after free tiers", "", "", usd(b.TotalAfterFree))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(b.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range b.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	return nil
}

// usd shows an amount to the tenth of a cent, and small amounts to four places.
func usd(v float64) string {
	if v != 0 && math.Abs(v) < 0.001 {
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// quantity shows a count with thousands separators, or a small amount with three
// significant digits.
func quantity(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return group(math.Round(v))
	case math.Abs(v) >= 1 && v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func group(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
