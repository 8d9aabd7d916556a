package cmdutil

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

func streams() (IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return IOStreams{Out: &out, ErrOut: &errOut}, &out, &errOut
}

// TestHelpOnStdoutMistakesOnStderr: -h prints the usage on stdout with status 0; a bad
// flag prints what is wrong and the usage on stderr with status 2.
func TestHelpOnStdoutMistakesOnStderr(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"x", "--help"}, {"-help"}} {
		ios, out, errOut := streams()
		fs := NewFlagSet("x", ios, args, func(w io.Writer) { fmt.Fprintln(w, "usage: peerbridge x") })
		fs.Bool("json", false, "print JSON")
		_, err := Parse(fs, args)
		if Status(err) != 0 || !strings.HasPrefix(out.String(), "usage: peerbridge x\n") || !strings.Contains(out.String(), "-json") || errOut.Len() != 0 {
			t.Errorf("%q: status %d, stdout %q, stderr %q", args, Status(err), out, errOut)
		}
	}
	ios, out, errOut := streams()
	args := []string{"--nope"}
	fs := NewFlagSet("x", ios, args, func(w io.Writer) { fmt.Fprintln(w, "usage: peerbridge x") })
	_, err := Parse(fs, args)
	if Status(err) != 2 || out.Len() != 0 || !strings.Contains(errOut.String(), "flag provided but not defined: -nope") || !strings.Contains(errOut.String(), "usage: peerbridge x") {
		t.Errorf("--nope: status %d, stdout %q, stderr %q", Status(err), out, errOut)
	}
	// After "--", -h is an argument.
	if HelpRequested([]string{"--", "-h"}) || !HelpRequested([]string{"a", "-h"}) {
		t.Error("HelpRequested reads past --, or misses -h after an argument")
	}
}

// TestParseFlagsAfterArguments: flags may follow arguments; after "--" all are arguments.
func TestParseFlagsAfterArguments(t *testing.T) {
	ios, _, _ := streams()
	args := []string{"a", "--n", "2", "b", "--", "--n", "c"}
	fs := NewFlagSet("x", ios, args, func(io.Writer) {})
	n := fs.Int("n", 0, "")
	got, err := Parse(fs, args)
	if err != nil || *n != 2 || !slices.Equal(got, []string{"a", "b", "--n", "c"}) {
		t.Errorf("Parse = %q, n %d, %v", got, *n, err)
	}
}

func TestStatus(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0}, {flag.ErrHelp, 0}, {Exit(1), 1}, {fmt.Errorf("wrapped: %w", Exit(2)), 2}, {errors.New("bad flag"), 2},
	} {
		if got := Status(c.err); got != c.want {
			t.Errorf("Status(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	ios, _, errOut := streams()
	if err := Usagef(ios, "x y", "need %s", "z"); Status(err) != 2 || errOut.String() != "peerbridge x y: need z\n" {
		t.Errorf("Usagef: %d %q", Status(err), errOut)
	}
}

func TestParamAndMultiFlags(t *testing.T) {
	p := ParamFlag{}
	if err := p.Set("A=b=c"); err != nil || p["A"] != "b=c" {
		t.Errorf("A=b=c: %v %v", p, err)
	}
	for _, bad := range []string{"novalue", "=x"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var m MultiFlag
	_ = m.Set("a")
	_ = m.Set("b")
	if m.String() != "a,b" {
		t.Errorf("MultiFlag %q", m.String())
	}
}

// TestKeyRefused: export and reconcile say a refused key (401) and an organization
// without the API (403) the same way, each under its own name; other errors are theirs.
func TestKeyRefused(t *testing.T) {
	for _, cmd := range []string{"export", "reconcile"} {
		if got := KeyRefused(cmd, &peerdomapi.Error{Method: "GET", Path: "/roles", StatusCode: 401}); !strings.HasPrefix(got, "peerbridge "+cmd+": Peerdom refused the API key (401 Unauthorized). Check PEERDOM_API_KEY") {
			t.Errorf("%s 401: %q", cmd, got)
		}
		if got := KeyRefused(cmd, &peerdomapi.Error{Method: "GET", Path: "/roles", StatusCode: 403}); !strings.HasPrefix(got, "peerbridge "+cmd+": Peerdom answered 403 Forbidden: the key is known but the organization may not use the API") {
			t.Errorf("%s 403: %q", cmd, got)
		}
		if got := KeyRefused(cmd, errors.New("connection reset")); got != "" {
			t.Errorf("%s other error: %q", cmd, got)
		}
	}
}

func TestAPIFlagClient(t *testing.T) {
	var f APIFlag
	_, _, errOut := streams()
	if f.Client("export", func(string) string { return "" }, errOut) != nil || !strings.Contains(errOut.String(), "set PEERDOM_API_KEY") {
		t.Errorf("no key: %q", errOut)
	}
	env := map[string]string{"PEERDOM_API_KEY": "k", "PEERDOM_API_URL": "nope"}
	errOut.Reset()
	if f.Client("export", func(k string) string { return env[k] }, errOut) != nil || !strings.Contains(errOut.String(), "peerbridge export: ") {
		t.Errorf("bad URL: %q", errOut)
	}
	f.URL = "http://127.0.0.1:1"
	if f.Client("export", func(k string) string { return env[k] }, errOut) == nil {
		t.Error("--api-url did not win over $PEERDOM_API_URL")
	}
}
