package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
)

// TestOrganizationDataIsGitIgnored: the files the commands write by default hold an
// organization's people, roles and changes; git must never offer to commit them. The
// names are read from the commands' own help, so a new default is checked too.
func TestOrganizationDataIsGitIgnored(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "--is-inside-work-tree").Run(); err != nil {
		t.Skipf("not a git checkout (%v): nothing to ignore", err)
	}
	help := func(cmd, pattern string) string {
		t.Helper()
		_, out, _ := runCLI(t, "", cmd, "-h")
		m := regexp.MustCompile(pattern).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s -h: no %s in\n%s", cmd, pattern, out)
		}
		return m[1]
	}
	paths := []string{
		filepath.Join(help("export", `-out directory\n.*\(default "([^"]+)"\)`), "roles.csv"),
		help("reconcile", `-state file\n.*\(default "([^"]+)"\)`),
		strings.Replace(help("serve", `default (peerbridge-spill-<time>\.jsonl)`), "<time>", "20261207T101500Z", 1),
		"events.jsonl", // the examples' serve --events-out
		"rest.jsonl",   // what send says to resume from
	}
	for _, p := range paths {
		for _, dir := range []string{"", "cmd/peerbridge"} { // where a user runs the commands
			path := filepath.Join(dir, p)
			if err := exec.Command("git", "-C", root, "check-ignore", "--no-index", "-q", path).Run(); err != nil {
				t.Errorf("%s is not git-ignored (git check-ignore: %v)", path, err)
			}
		}
	}
}
