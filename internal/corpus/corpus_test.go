package corpus

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyMatchesUpstream fails when the repository's corpus differs from the one named by
// $PEERBRIDGE_CORPUS_UPSTREAM (a file added, removed or changed on either side), so that
// a maintainer who keeps the contract's examples elsewhere sees a change reach the
// repository. Unset (a clone on its own), there is nothing to compare.
func TestCopyMatchesUpstream(t *testing.T) {
	shared := os.Getenv(UpstreamEnv)
	if shared == "" {
		t.Skipf("%s is not set: no upstream corpus to compare the copy with", UpstreamEnv)
	}
	local, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	want, err := readDir(shared)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readDir(local)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s is in %s but not in the copy %s", name, shared, local)
		} else if !bytes.Equal(g, b) {
			t.Errorf("%s differs between %s and the copy %s", name, shared, local)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is in the copy %s but not in %s", name, local, shared)
		}
	}
	if t.Failed() {
		t.Logf("update the copy: rm -r %s && cp -r %s %s", local, shared, local)
	}
}

// readDir reads every file of dir by name.
func readDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}

func TestLoadReadsTheCopy(t *testing.T) {
	cases := Load(t)
	files, err := filepath.Glob(filepath.Join("..", "..", Path, "*.json"))
	if err != nil || len(cases) != len(files) || len(cases) == 0 {
		t.Fatalf("Load gave %d cases; %s has %d (%v)", len(cases), Path, len(files), err)
	}
}
