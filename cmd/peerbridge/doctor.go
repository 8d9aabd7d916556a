package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/peerbridge/peerbridge/internal/doctor"
)

// runDoctor implements `peerbridge doctor [--api-url URL] [--write] [--json]`.
func runDoctor(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return doctorMain(ctx, args, os.Getenv, stdout, stderr)
}

func doctorMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var apiURL apiFlag
	apiURL.register(fs)
	write := fs.Bool("write", false, "also make a scratch role and peer to learn what writes do, then remove them (Peerdom sends webhooks for each write)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: peerbridge doctor [--api-url URL] [--write] [--json]\n\nFinds out how your organization's Peerdom API behaves where Peerdom's documentation\nleaves it open (paging, /circles or /groups, holders, former peers, custom field types,\nredirects, rate-limit headers) and whether peerbridge works against it. Read-only\nunless --write. Exits 1 when peerbridge would not work. The API key comes from\n$PEERDOM_API_KEY.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "peerbridge doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	api := apiURL.client("doctor", getenv, stderr)
	if api == nil {
		return 2
	}
	rep := doctor.Run(ctx, api, doctor.Options{Write: *write})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		doctor.Print(stdout, rep)
	}
	if !rep.Works {
		return 1
	}
	return 0
}
