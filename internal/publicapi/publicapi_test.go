package publicapi

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/repo"
)

// TestPublicPackagesNameNoInternalType: the exported API of every package under pkg/
// names only pkg/, standard and AWS types.
func TestPublicPackagesNameNoInternalType(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Check(root, "./pkg/...")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("a user's module cannot use %s", p)
	}
	// What a user reads: go doc -all names no internal package either, in prose or code.
	pkgs, err := goCmd(root, "list", "./pkg/...")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(pkgs)) {
		doc, err := goCmd(root, "doc", "-all", pkg)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(doc), "\n") {
			if strings.Contains(line, "internal/") {
				t.Errorf("go doc -all %s, line %d, names an internal package: %s", pkg, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestCheckFindsEveryPlace: a module whose public package names an internal type in
// each place an API can (result, parameter, alias, field, interface method, method,
// variable) has each reported, and nothing else.
func TestCheckFindsEveryPlace(t *testing.T) {
	problems, err := Check(filepath.Join("testdata", "mod"), "./pkg/...")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"pkg/p: Alias: example.com/m/internal/x.T",
		"pkg/p: Iface.Method: example.com/m/internal/x.I",
		"pkg/p: N.Exported: example.com/m/internal/x.T",
		"pkg/p: Param: example.com/m/internal/x.I",
		"pkg/p: Result: example.com/m/internal/x.T",
		"pkg/p: S.Field: example.com/m/internal/x.T",
		"pkg/p: V: example.com/m/internal/x.I",
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}
