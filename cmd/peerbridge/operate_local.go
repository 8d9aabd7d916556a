package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/serve"
)

// runStatusLocal is status --local: it asks the running serve's admin endpoint.
func runStatusLocal(ctx context.Context, adminAddr string, asJSON bool, stdout, stderr io.Writer) int {
	a, err := serve.OpenAdmin(adminAddr)
	if err != nil {
		return fail(stderr, "status --local", err)
	}
	var st operate.Status
	if err := a.Call(ctx, http.MethodGet, "/status", nil, &st); err != nil {
		return fail(stderr, "status --local", err)
	}
	if asJSON {
		printJSON(stdout, st)
		return 0
	}
	printStatus(stdout, st)
	return 0
}

// runDLQLocal is dlq list|show|redrive against the running serve. Unlike the deployed
// stack, an events dead letter can be redriven: serve hands it to its function again.
func runDLQLocal(ctx context.Context, adminAddr, sub, kind string, ids []string, all, asJSON bool, limit int, stdout, stderr io.Writer) int {
	a, err := serve.OpenAdmin(adminAddr)
	if err != nil {
		return fail(stderr, "dlq "+sub+" --local", err)
	}
	switch sub {
	case "list", "show":
		var letters []operate.DeadLetter
		if err := a.Call(ctx, http.MethodGet, "/dlq/"+kind, nil, &letters); err != nil {
			return fail(stderr, "dlq "+sub+" --local", err)
		}
		if sub == "show" {
			i := slices.IndexFunc(letters, func(l operate.DeadLetter) bool {
				return l.MessageID == ids[0] || l.DeliveryID == ids[0] || l.EventID == ids[0]
			})
			if i < 0 {
				return fail(stderr, "dlq show --local", fmt.Errorf("no message %q in serve's %s dead-letter list (%d there)", ids[0], kind, len(letters)))
			}
			if asJSON {
				printJSON(stdout, letters[i])
				return 0
			}
			printDeadLetters(stdout, kind, letters[i:i+1])
			fmt.Fprintf(stdout, "\n%s\n", indentJSON(letters[i].Body))
			return 0
		}
		for i := range letters {
			letters[i].Body = "" // as the deployed list: show has the body
		}
		if limit > 0 && len(letters) > limit {
			letters = letters[:limit]
		}
		if asJSON {
			printJSON(stdout, letters)
			return 0
		}
		printDeadLetters(stdout, kind, letters)
		return 0
	case "redrive":
		var result struct {
			Moved  int    `json:"moved"`
			Method string `json:"method"`
			Error  string `json:"error,omitempty"`
		}
		if err := a.Call(ctx, http.MethodPost, "/dlq/"+kind+"/redrive", serve.RedriveRequest{IDs: ids, All: all}, &result); err != nil {
			return fail(stderr, "dlq redrive --local", err)
		}
		if result.Error != "" {
			fmt.Fprintf(stderr, "peerbridge dlq redrive --local: %s\n", result.Error)
		}
		if asJSON {
			printJSON(stdout, result)
		} else if kind == operate.Events {
			fmt.Fprintf(stdout, "Handed %d dead-lettered events back to their functions (serve).\n", result.Moved)
		} else {
			fmt.Fprintf(stdout, "Moved %d messages back to serve's webhook queue.\n", result.Moved)
		}
		if len(ids) > result.Moved {
			fmt.Fprintf(stderr, "%d of the %d ids named were not found in serve's %s dead-letter list.\n", len(ids)-result.Moved, len(ids), kind)
			return 1
		}
		if result.Error != "" {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "peerbridge dlq %s: not available with --local (serve's lists end with serve; list, show and redrive are)\n", sub)
	return 2
}
