package main

import "os"

// Test files are not part of the program.
var _ = os.Getenv("TEST_ONLY")
