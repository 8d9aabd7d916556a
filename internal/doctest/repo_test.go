package doctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// TestParametersDocumented: docs/parameters.md has a table row for every Parameter and
// every Output of template.yaml, and none for one the template does not have, so the page
// cannot drift from the template.
func TestParametersDocumented(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Raw(src)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "parameters.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"Parameters", "Outputs"} {
		inTemplate, _ := tmpl[section].(map[string]any)
		if len(inTemplate) == 0 {
			t.Fatalf("template.yaml has no %s", section)
		}
		inDoc := tableNames(string(doc), "## "+section)
		for name := range inTemplate {
			if !inDoc[name] {
				t.Errorf("docs/parameters.md's %s table has no row for %s, which template.yaml has", section, name)
			}
		}
		for name := range inDoc {
			if _, ok := inTemplate[name]; !ok {
				t.Errorf("docs/parameters.md's %s table has a row for %s, which template.yaml does not have", section, name)
			}
		}
	}
}

// tableNames are the `Name`s that start the rows of the first table under heading
// (several names may share a row: `A`, `B`).
func tableNames(doc, heading string) map[string]bool {
	out := map[string]bool{}
	doc = "\n" + doc
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return out
	}
	rest := doc[i+len(heading)+2:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.SplitN(line, "|", 3)[1]
		for _, m := range regexp.MustCompile("`([A-Za-z0-9]+)`").FindAllStringSubmatch(cell, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// outside are names of what lies outside the repository: the design notes and corpus the
// project was started from, which a clone does not have.
var outside = []string{"../shared", "/work/shared", "CONTRACT.md", "PEERDOM_API.md", "PITFALLS.md", "ARCHITECTURE.md"}

// offenders lists file:line for each tracked file under prefixes (all when none) naming
// something outside the repository.
func offenders(t *testing.T, prefixes ...string) []string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	self := filepath.ToSlash(filepath.Join("internal", "doctest", "repo_test.go"))
	var found []string
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" || f == self {
			continue
		}
		if len(prefixes) > 0 && !hasAnyPrefix(f, prefixes) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		for n, line := range strings.Split(string(b), "\n") {
			for _, name := range outside {
				if strings.Contains(line, name) {
					found = append(found, fmt.Sprintf("%s:%d: %s", f, n+1, name))
				}
			}
		}
	}
	return found
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestDocsNameNothingOutsideTheRepo: README.md and docs/ say everything in the project's
// own words; they name no file a clone does not have.
func TestDocsNameNothingOutsideTheRepo(t *testing.T) {
	if found := offenders(t, "README.md", "docs/"); len(found) > 0 {
		t.Errorf("the docs name what is outside the repository:\n%s", strings.Join(found, "\n"))
	}
}

// TestNothingNamesOutsideTheRepo: no tracked file (code comments, help texts, the JSON
// Schema included) names what is outside the repository.
func TestNothingNamesOutsideTheRepo(t *testing.T) {
	if found := offenders(t); len(found) > 0 {
		t.Errorf("tracked files name what is outside the repository:\n%s", strings.Join(found, "\n"))
	}
}
