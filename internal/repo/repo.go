// Package repo finds the repository's root from a test's working directory, so that
// tests and test tools can reach template.yaml and .venv wherever they run.
package repo

import (
	"errors"
	"os"
	"path/filepath"
)

// Root is the nearest directory at or above the working directory holding go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
