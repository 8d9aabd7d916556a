//go:build windows

package lib

import "os"

// Only in a windows build: not part of a Lambda.
var windowsOnly = os.Getenv("WINDOWS_ONLY")
