package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns its exit status and streams.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestCommandTable: every command is in the table, under its name.
func TestCommandTable(t *testing.T) {
	want := []string{"console", "cost", "dlq", "doctor", "export", "invoke", "parse", "reconcile", "replay", "send", "serve", "status", "tail"}
	if got := sortedCommandNames(); !slices.Equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
}

// TestHelpIsDashH: `peerbridge help CMD` prints exactly what `peerbridge CMD -h` and
// `peerbridge CMD --help` print, on stdout (so `peerbridge serve -h | less` works), for
// every command of the table, and exits 0.
func TestHelpIsDashH(t *testing.T) {
	if len(commands) < 4 {
		t.Fatalf("command table has %d commands", len(commands))
	}
	for _, name := range sortedCommandNames() {
		if commands[name].Summary == "" || commands[name].Run == nil {
			t.Errorf("%s: no summary or run func", name)
		}
		code1, out1, err1 := runCLI(t, "", "help", name)
		code2, out2, err2 := runCLI(t, "", name, "-h")
		code3, out3, err3 := runCLI(t, "", name, "--help")
		if code1 != 0 || code2 != 0 || code3 != 0 || out1 != out2 || out1 != out3 || err1 != "" || err2 != "" || err3 != "" {
			t.Errorf("%s: help exit %d, -h exit %d, --help exit %d; stdout differ or stderr not empty:\n%s\n---\n%s\n---\n%s\n---stderr:\n%s%s%s",
				name, code1, code2, code3, out1, out2, out3, err1, err2, err3)
		}
		if !strings.Contains(out1, "usage: peerbridge "+name) || !strings.Contains(out1, "-") {
			t.Errorf("help %s: %q", name, out1)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, errOut := runCLI(t, "", args...)
		for _, name := range sortedCommandNames() {
			if !strings.Contains(out, "  "+name+" ") || !strings.Contains(out, commands[name].Summary) {
				t.Errorf("%s: usage on stdout lacks %s and its summary:\n%s", args[0], name, out)
			}
		}
		if code != 0 || errOut != "" {
			t.Errorf("%s: exit %d, stderr %q", args[0], code, errOut)
		}
	}
	// A mistake still prints the usage to stderr, with status 2.
	if code, out, errOut := runCLI(t, "", "serve", "--no-such-flag"); code != 2 || out != "" || !strings.Contains(errOut, "usage: peerbridge serve") {
		t.Errorf("serve --no-such-flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "help", "nope"); code != 2 || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("help nope: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, ""); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "peerbridge ") || strings.Count(out, "\n") != 1 {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/peerbridge/peerbridge", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine(bi, true), "peerbridge v1.2.3 (0123abcd, 2026-11-30T10:00:00Z, modified) go1.26.0"; got != want {
		t.Errorf("versionLine = %q, want %q", got, want)
	}
	bi.Settings, bi.Main.Version = nil, ""
	if got, want := versionLine(bi, true), "peerbridge (devel) go1.26.0"; got != want {
		t.Errorf("without VCS: %q, want %q", got, want)
	}
	if got := versionLine(nil, false); !strings.Contains(got, "unknown") {
		t.Errorf("without build info: %q", got)
	}
}

// TestFlagsAfterArguments: `parse FILE --jsonl` is `parse --jsonl FILE`; after "--" a
// flag-like word is a file name.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hooks.jsonl")
	if err := os.WriteFile(file, []byte(`{"text":"Role was created"}`+"\n"+`{"text":"Peer was deleted"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c1, out1, e1 := runCLI(t, "", "parse", file, "--jsonl", "--source", "acme")
	c2, out2, e2 := runCLI(t, "", "parse", "--jsonl", "--source", "acme", file)
	if c1 != 0 || c2 != 0 || out1 != out2 || e1 != e2 || strings.Count(out1, "\n") != 2 || !strings.Contains(out1, `"source":"acme"`) {
		t.Errorf("flags after the file: exit %d %q %q; before: exit %d %q", c1, out1, e1, c2, out2)
	}
	dash := filepath.Join(dir, "--jsonl")
	if err := os.WriteFile(dash, []byte(`{"text":"Role was created"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if code, out, errOut := runCLI(t, "", "parse", "--", "--jsonl"); code != 0 || !strings.Contains(out, "\n  ") {
		t.Errorf("parse -- --jsonl (a file): exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "parse", file, "extra"); code != 2 || !strings.Contains(errOut, "at most one FILE") {
		t.Errorf("two files: exit %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "serve", "extra", "--no-actions"); code != 2 || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("serve extra: exit %d %q", code, errOut)
	}
}

// TestUsageErrors: a missing file fails (1); two files, an unknown command, a bad flag
// are usage errors (2).
func TestUsageErrors(t *testing.T) {
	if code, _, errOut := runCLI(t, "", "parse", filepath.Join(t.TempDir(), "missing.json")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "parse", "a", "b"); code != 2 {
		t.Errorf("two files: exit %d", code)
	}
	if code, _, errOut := runCLI(t, "", "nope"); code != 2 || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	for _, name := range sortedCommandNames() {
		if code, out, errOut := runCLI(t, "", name, "--no-such-flag"); code != 2 || out != "" || !strings.Contains(errOut, "usage: peerbridge "+name) {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q", name, code, out, errOut)
		}
	}
}
