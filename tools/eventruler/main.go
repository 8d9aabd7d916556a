// Command eventruler writes the corpus of (event pattern, event) pairs for the event-ruler
// recorder: `go run ./tools/eventruler <corpus.jsonl.gz>`, run by `make eventruler-verdicts`
// from the repository root. The corpus is internal/eventrulercorpus's, for its seed.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"

	"github.com/peerbridge/peerbridge/internal/eventrulercorpus"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./tools/eventruler <corpus.jsonl.gz>")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "eventruler:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	gs, err := eventrulercorpus.Corpus(".")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	w := bufio.NewWriter(zw)
	for _, g := range gs {
		b, err := json.Marshal(g)
		if err != nil {
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "eventruler: corpus of %d patterns, %d pairs in %s\n", len(gs), eventrulercorpus.Pairs(gs), path)
	return f.Close()
}
