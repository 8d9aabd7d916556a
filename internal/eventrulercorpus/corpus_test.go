package eventrulercorpus

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestGenerateIsSeeded(t *testing.T) {
	a, b := Generate(Seed, 200), Generate(Seed, 200)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two corpora from one seed differ")
	}
	if reflect.DeepEqual(a, Generate(Seed+1, 200)) {
		t.Fatal("another seed gives the same corpus")
	}
}

func TestCorpusShape(t *testing.T) {
	gs := Generate(Seed, Patterns)
	if n := Pairs(gs); n < 20000 {
		t.Fatalf("%d generated pairs, want at least 20,000", n)
	}
	// Every text is one JSON value, and the corpus uses every operator and "$or".
	seen := map[string]bool{}
	for _, g := range gs {
		if !json.Valid([]byte(g.Pattern)) {
			t.Fatalf("pattern is not JSON: %s", g.Pattern)
		}
		for _, e := range g.Events {
			if !json.Valid([]byte(e)) {
				t.Fatalf("event is not JSON: %s", e)
			}
		}
		for _, op := range []string{`"prefix"`, `"suffix"`, `"anything-but"`, `"numeric"`, `"exists"`, `"cidr"`, `"equals-ignore-case"`, `"wildcard"`, `"$or"`} {
			if strings.Contains(g.Pattern, op) {
				seen[op] = true
			}
		}
	}
	if len(seen) != 9 {
		t.Fatalf("operators used: %v, want all 9", seen)
	}
}
