package main

import (
	"os"

	"example.com/app/lib"
)

const level = "LOG_LEVEL"

func main() {
	_ = os.Getenv(level)
	if _, ok := os.LookupEnv("LOOKED_UP"); ok {
		_ = lib.Load(os.Getenv)
	}
	_ = lib.FromField(lib.Config{Getenv: os.Getenv})
	helper()
	_ = lib.Make(lib.NameA, os.Getenv)
}

func helper() { _ = os.Getenv("HELPER_VAR") }

func unused() { _ = os.Getenv("UNUSED_IN_MAIN") }
