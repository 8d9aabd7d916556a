package envscan

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func names(rs []Read) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestReadsFollowsWhatMainReaches(t *testing.T) {
	root := filepath.Join("testdata", "mod")
	got, err := Reads(root, filepath.Join(root, "cmd", "app"))
	if err != nil {
		t.Fatal(err)
	}
	// lib.Make is called with lib.NameA only: of its switch, only that case's read counts.
	want := []string{"APP_QUEUE_URL", "A_ONLY", "FIELD_VAR", "HELPER_VAR", "INIT_VAR", "LOG_LEVEL", "LOOKED_UP", "METHOD_VAR", "VAR_INIT", "WITH_DEFAULT"}
	if !slices.Equal(names(got), want) {
		t.Errorf("reads = %v\nwant    %v", names(got), want)
	}
	for _, r := range got {
		if r.Name == "WITH_DEFAULT" && !slices.Equal(r.Where, []string{"lib/lib.go:15"}) {
			t.Errorf("WITH_DEFAULT read at %v, want the forwarder's call site lib/lib.go:15", r.Where)
		}
		if r.Name == "LOG_LEVEL" && !slices.Equal(r.Where, []string{"cmd/app/main.go:12"}) {
			t.Errorf("LOG_LEVEL read at %v", r.Where)
		}
	}
}

func TestReadsLeavesOutWhatAnotherMainDoesNotCall(t *testing.T) {
	root := filepath.Join("testdata", "mod")
	got, err := Reads(root, filepath.Join(root, "cmd", "other"))
	if err != nil {
		t.Fatal(err)
	}
	// lib.Load and its forwarder are not reached from this main; init, variable
	// initializers and methods of the imported package always are; lib.Make is called
	// with a value only known at run time, so every case counts.
	want := []string{"A_ONLY", "B_OR_C_ONLY", "FIELD_VAR", "INIT_VAR", "METHOD_VAR", "OTHER_ONLY", "VAR_INIT"}
	if !slices.Equal(names(got), want) {
		t.Errorf("reads = %v, want %v", names(got), want)
	}
}

func TestReadsTakesTheCasesItsCallsChoose(t *testing.T) {
	root := filepath.Join("testdata", "mod")
	got, err := Reads(root, filepath.Join(root, "cmd", "chosen"))
	if err != nil {
		t.Fatal(err)
	}
	// Make("c") takes the "b", "c" case; Make("zzz") the default one.
	want := []string{"B_OR_C_ONLY", "INIT_VAR", "METHOD_VAR", "OTHER_ONLY", "VAR_INIT"}
	if !slices.Equal(names(got), want) {
		t.Errorf("reads = %v, want %v", names(got), want)
	}
}

func TestReadsRefusesANameItCannotTell(t *testing.T) {
	root := filepath.Join("testdata", "mod")
	_, err := Reads(root, filepath.Join(root, "cmd", "dynamic"))
	if err == nil || !strings.Contains(err.Error(), "cmd/dynamic/main.go:10") {
		t.Fatalf("err = %v, want the unresolved call's position", err)
	}
}

func TestReadsWantsAMainPackageInsideTheModule(t *testing.T) {
	root := filepath.Join("testdata", "mod")
	if _, err := Reads(root, filepath.Join(root, "lib")); err == nil || !strings.Contains(err.Error(), "not a main package") {
		t.Errorf("library package: %v", err)
	}
	if _, err := Reads(root, t.TempDir()); err == nil {
		t.Error("directory outside the module accepted")
	}
}
