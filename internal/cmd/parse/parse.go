// Package parse is `peerbridge parse [--source S] [--jsonl] [FILE]`: webhook bodies in,
// the events they become out.
package parse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Options are parse's flags and argument.
type Options struct {
	IO     cmdutil.IOStreams
	Source string // the event source
	JSONL  bool   // one body per line in, one event per line out
	File   string // "" or "-": stdin
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
	opts := &Options{IO: ios}
	fs := cmdutil.NewFlagSet("parse", ios, args, func(w io.Writer) {
		fmt.Fprintln(w, "usage: peerbridge parse [--source S] [--jsonl] [FILE]\n\nReads a webhook body ({\"text\": \"...\"}) from FILE, or stdin when FILE is absent or -,\nand prints the event it becomes: {\"source\", \"detailType\", \"detail\"}.")
	})
	fs.StringVar(&opts.Source, "source", peerdom.DefaultSource, "the event `source`")
	fs.BoolVar(&opts.JSONL, "jsonl", false, "read one webhook body per line and print one event per line")
	argv, err := cmdutil.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(argv) > 1 {
		fmt.Fprintln(ios.ErrOut, "peerbridge parse: at most one FILE")
		return nil, cmdutil.Exit(cmdutil.StatusUsage)
	}
	if len(argv) == 1 {
		opts.File = argv[0]
	}
	return opts, nil
}

// Run parses the body (or the lines) and prints the event(s): status 2 when a body is
// not a webhook, 1 when the input cannot be read.
func Run(_ context.Context, opts *Options) int {
	stderr := opts.IO.ErrOut
	in := opts.IO.In
	name := "stdin"
	if opts.File != "" && opts.File != "-" {
		f, err := os.Open(opts.File)
		if err != nil {
			fmt.Fprintf(stderr, "peerbridge parse: %v\n", err)
			return 1
		}
		defer f.Close()
		in, name = f, opts.File
	}
	out := bufio.NewWriter(opts.IO.Out)
	defer out.Flush()
	if opts.JSONL {
		return parseLines(in, name, opts.Source, out, stderr)
	}
	body, err := io.ReadAll(io.LimitReader(in, peerdom.MaxBodyBytes+1))
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge parse: reading %s: %v\n", name, err)
		return 1
	}
	ev, err := eventFromBody(body, opts.Source)
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge parse: %s: %v\n", name, err)
		return 2
	}
	b, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge parse: %v\n", err)
		return 1
	}
	out.Write(b)
	out.WriteByte('\n')
	return 0
}

// parseLines handles --jsonl: a bad line is reported with its number and the rest go on;
// the exit status is 2 when any line was bad.
func parseLines(in io.Reader, name, source string, out *bufio.Writer, stderr io.Writer) int {
	r := bufio.NewReaderSize(in, 64*1024)
	status := 0
	for lineNo := 1; ; lineNo++ {
		line, readErr := r.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			fmt.Fprintf(stderr, "peerbridge parse: reading %s: %v\n", name, readErr)
			return 1
		}
		if len(bytes.TrimSpace(line)) > 0 {
			ev, err := eventFromBody(line, source)
			if err != nil {
				fmt.Fprintf(stderr, "peerbridge parse: %s:%d: %v\n", name, lineNo, err)
				status = 2
			} else {
				b, err := json.Marshal(ev)
				if err != nil {
					fmt.Fprintf(stderr, "peerbridge parse: %s:%d: %v\n", name, lineNo, err)
					return 1
				}
				out.Write(b)
				out.WriteByte('\n')
			}
		}
		if readErr != nil {
			return status
		}
	}
}

// eventFromBody checks a body as ingest does and parses it; the event has no delivery
// id or receive time, since nothing was delivered.
func eventFromBody(body []byte, source string) (peerdom.Event, error) {
	if len(body) > peerdom.MaxBodyBytes {
		return peerdom.Event{}, fmt.Errorf("body is larger than %d KiB, the most a webhook may carry (the event must fit one EventBridge entry)", peerdom.MaxBodyBytes/1024)
	}
	w, err := peerdom.DecodeWebhook(body)
	if err != nil {
		return peerdom.Event{}, err
	}
	d := peerdom.Parse(w.Text)
	if source == "" {
		source = peerdom.DefaultSource
	}
	return peerdom.Event{Source: source, DetailType: d.DetailType(), Detail: d}, nil
}
