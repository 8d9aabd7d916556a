// Package cmdutil is what peerbridge's commands (internal/cmd/<verb>) share: the process's
// streams, one way to set up and parse a command's flags (help on stdout with status 0, a
// mistake on stderr with status 2), the exit statuses, and the flags several commands take.
//
// Each command package has an Options struct, a Parse that fills it from the command
// line, a Run(ctx, opts) that does the work (what tests call, without parsing), and a
// Main that does both: the entry of cmd/peerbridge's command table.
package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In          io.Reader
	Out, ErrOut io.Writer
}

// Command is one entry of peerbridge's command table: a one-line summary and the function
// that runs the command on its arguments and returns the exit status.
type Command struct {
	Summary string
	Run     func(ctx context.Context, ios IOStreams, args []string) int
}

// Exit statuses: 1 when the command failed, 2 when it was called wrongly.
const (
	StatusFailed = 1
	StatusUsage  = 2
)

// NewFlagSet is a command's flag set. Its usage is header (what usage prints above the
// flags) then the flags' defaults. When args ask for help (HelpRequested), both go to
// stdout, since help was asked for (`peerbridge tail -h | less`); otherwise to stderr,
// where the flag package also says what was wrong.
func NewFlagSet(name string, ios IOStreams, args []string, header func(w io.Writer)) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := ios.ErrOut
	if HelpRequested(args) {
		out = ios.Out
	}
	fs.SetOutput(out)
	fs.Usage = func() {
		header(out)
		fs.PrintDefaults()
	}
	return fs
}

// HelpRequested reports whether a command's arguments ask for its help (-h, -help or
// --help before any "--").
func HelpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// Parse parses args with fs, letting flags follow arguments (`parse FILE --jsonl`): it
// returns the arguments that are not flags, in order. After "--" everything is an
// argument. Its error is the flag package's (which has printed what is wrong, or the
// usage for -h): Status turns it into the exit status.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// exitStatus is an error whose message has been printed already: the command exits with
// this status.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// Exit is the error a command's Parse returns after printing what is wrong: the command
// exits with status.
func Exit(status int) error { return exitStatus(status) }

// Status is the exit status for a Parse error: 0 for -h (help was asked for and shown),
// the status of an Exit error, and 2 for bad flags (the flag package has printed what is
// wrong).
func Status(err error) int {
	var s exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &s):
		return int(s)
	}
	return StatusUsage
}

// Usagef says on stderr how the command cmd was called wrongly ("peerbridge cmd: …") and
// returns Exit(2).
func Usagef(ios IOStreams, cmd, format string, args ...any) error {
	fmt.Fprintf(ios.ErrOut, "peerbridge %s: %s\n", cmd, fmt.Sprintf(format, args...))
	return Exit(StatusUsage)
}

// Fail says on w that cmd failed ("peerbridge cmd: err") and returns status 1.
func Fail(w io.Writer, cmd string, err error) int {
	fmt.Fprintf(w, "peerbridge %s: %v\n", cmd, err)
	return StatusFailed
}

// PrintJSON writes v as indented JSON, for the commands' --json.
func PrintJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// IsTerminal reports whether w is a terminal (progress lines are redrawn only there).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// MultiFlag is a repeatable string flag.
type MultiFlag []string

func (m *MultiFlag) String() string     { return strings.Join(*m, ",") }
func (m *MultiFlag) Set(v string) error { *m = append(*m, v); return nil }
