package main

import (
	"os"

	"example.com/app/lib"
)

func main() {
	_ = lib.Make("c", os.Getenv)
	_ = lib.Make("zzz", os.Getenv)
}
