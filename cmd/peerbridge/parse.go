package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// runParse implements `peerbridge parse [--source S] [--jsonl] [FILE]`.
func runParse(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("source", peerdom.DefaultSource, "the event `source`")
	jsonl := fs.Bool("jsonl", false, "read one webhook body per line and print one event per line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge parse [--source S] [--jsonl] [FILE]\n\nReads a webhook body ({\"text\": \"...\"}) from FILE, or stdin when FILE is absent or -,\nand prints the event it becomes: {\"source\", \"detailType\", \"detail\"}.")
		fs.PrintDefaults()
	}
	argv, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(argv) > 1 {
		fmt.Fprintln(stderr, "peerbridge parse: at most one FILE")
		return 2
	}
	in := stdin
	name := "stdin"
	if path := argOr(argv, 0); path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(stderr, "peerbridge parse: %v\n", err)
			return 1
		}
		defer f.Close()
		in, name = f, path
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	if *jsonl {
		return parseLines(in, name, *source, out, stderr)
	}
	body, err := io.ReadAll(io.LimitReader(in, peerdom.MaxBodyBytes+1))
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge parse: reading %s: %v\n", name, err)
		return 1
	}
	ev, err := eventFromBody(body, *source)
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
