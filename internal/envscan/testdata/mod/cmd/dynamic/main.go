package main

import (
	"os"
	"strings"
)

func main() {
	for _, k := range strings.Fields("A B") {
		_ = os.Getenv(k)
	}
}
