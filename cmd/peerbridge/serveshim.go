package main

// What serve's files (serve.go, serve_admin.go, serve_emulated.go) still call from the
// rest of this package: forwarders to internal/cmd, which go when serve moves to
// internal/serve and calls those packages itself.

import (
	"context"
	"flag"
	"io"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/internal/cmd/dlq"
	"github.com/peerbridge/peerbridge/internal/cmd/invoke"
	"github.com/peerbridge/peerbridge/internal/cmd/send"
	"github.com/peerbridge/peerbridge/internal/cmd/status"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

const defaultSendURL = send.DefaultURL

func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) { return cmdutil.Parse(fs, args) }
func flagExit(err error) int                                       { return cmdutil.Status(err) }

// argOr is argv[i], or "" when there is no such argument.
func argOr(argv []string, i int) string {
	if i < len(argv) {
		return argv[i]
	}
	return ""
}

func printJSON(w io.Writer, v any)                     { cmdutil.PrintJSON(w, v) }
func fail(stderr io.Writer, cmd string, err error) int { return cmdutil.Fail(stderr, cmd, err) }
func printStatus(w io.Writer, s operate.Status)        { status.Print(w, s) }
func indentJSON(body string) string                    { return dlq.IndentJSON(body) }

func printDeadLetters(w io.Writer, kind string, letters []operate.DeadLetter) {
	dlq.PrintDeadLetters(w, kind, letters)
}

func cmpOrDash(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}

func buildFunction(ctx context.Context, root string, fn samtemplate.Function, stderr io.Writer) (string, error) {
	return invoke.BuildFunction(ctx, root, fn, stderr)
}

func applyLocal(env map[string]string, fn samtemplate.Function, local localDescription) {
	invoke.ApplyLocal(env, fn, invoke.Local(local))
}
