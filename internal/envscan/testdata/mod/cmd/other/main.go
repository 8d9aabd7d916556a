package main

import (
	"os"

	"example.com/app/lib"
)

func main() {
	_ = lib.FromField(lib.Config{})
	_ = lib.Make(os.Args[1], os.Getenv) // any case
}
