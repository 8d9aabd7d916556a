package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokensMatch(t *testing.T) {
	tok, err := NewTokens([]string{" old-token ", "new-token"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]bool{
		"old-token": true, "new-token": true, "": false, "new-token ": false, "new-toke": false, "NEW-TOKEN": false, "x": false,
	} {
		if got := tok.Match(in); got != want {
			t.Errorf("Match(%q) = %v, want %v", in, got, want)
		}
	}
	var none *Tokens
	if none.Match("old-token") {
		t.Error("a nil set matched")
	}
}

func TestNewTokensRejectsEmpty(t *testing.T) {
	if _, err := NewTokens(nil); err == nil {
		t.Error("no tokens accepted")
	}
	if _, err := NewTokens([]string{"a", "  "}); err == nil {
		t.Error("a blank token accepted")
	}
}

func TestParseSecretTokens(t *testing.T) {
	got, err := ParseSecretTokens(` ["one", "two"] `)
	if err != nil || strings.Join(got, ",") != "one,two" {
		t.Errorf("list: %v, %v", got, err)
	}
	got, err = ParseSecretTokens("plain-token\n")
	if err != nil || len(got) != 1 || got[0] != "plain-token" {
		t.Errorf("plain: %v, %v", got, err)
	}
	if _, err := ParseSecretTokens("  "); err == nil {
		t.Error("empty secret accepted")
	}
	_, err = ParseSecretTokens(`["sekrit-value", 3]`)
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("bad list: err %v (must not quote the value)", err)
	}
}

func TestSplitTokenList(t *testing.T) {
	if got := SplitTokenList(" a, b ,,c,"); strings.Join(got, "|") != "a|b|c" {
		t.Errorf("got %q", got)
	}
	if got := SplitTokenList(""); len(got) != 0 {
		t.Errorf("got %q", got)
	}
}

func TestTokenLoader(t *testing.T) {
	now := time.Unix(1000, 0)
	loads := 0
	var next []string
	var fail error
	l := &TokenLoader{
		Load: func(context.Context) ([]string, error) {
			loads++
			return next, fail
		},
		Now: func() time.Time { return now },
	}
	ctx := context.Background()

	// A failed first load is an error, and retried at the next call.
	fail = errors.New("secrets manager down")
	if _, err := l.Tokens(ctx); err == nil {
		t.Fatal("first load failure not reported")
	}
	fail, next = nil, []string{"a"}
	tok, err := l.Tokens(ctx)
	if err != nil || !tok.Match("a") || loads != 2 {
		t.Fatalf("second load: %v, loads %d", err, loads)
	}
	// Without MaxAge it never reloads.
	now = now.Add(24 * time.Hour)
	next = []string{"b"}
	if tok, _ := l.Tokens(ctx); !tok.Match("a") || loads != 2 {
		t.Fatalf("reloaded without MaxAge (loads %d)", loads)
	}
}

func TestTokenLoaderMaxAge(t *testing.T) {
	now := time.Unix(1000, 0)
	loads := 0
	next, fail := []string{"a"}, error(nil)
	l := &TokenLoader{
		Load:   func(context.Context) ([]string, error) { loads++; return next, fail },
		MaxAge: 5 * time.Minute,
		Now:    func() time.Time { return now },
	}
	ctx := context.Background()
	l.Tokens(ctx)
	next = []string{"a", "b"}
	now = now.Add(4 * time.Minute)
	if tok, _ := l.Tokens(ctx); tok.Match("b") || loads != 1 {
		t.Fatalf("reloaded too early (loads %d)", loads)
	}
	now = now.Add(2 * time.Minute)
	if tok, _ := l.Tokens(ctx); !tok.Match("b") || loads != 2 {
		t.Fatalf("rotation not seen after MaxAge (loads %d)", loads)
	}
	// A failed reload keeps the tokens, and waits MaxAge before the next try.
	now = now.Add(6 * time.Minute)
	fail = errors.New("throttled")
	tok, err := l.Tokens(ctx)
	if err != nil || !tok.Match("b") || loads != 3 {
		t.Fatalf("failed reload: %v, loads %d", err, loads)
	}
	if l.Tokens(ctx); loads != 3 {
		t.Fatalf("retried at once after a failed reload (loads %d)", loads)
	}
	// A reload that gives no token is a failure too, not a lock-out.
	now = now.Add(6 * time.Minute)
	fail, next = nil, nil
	if tok, err := l.Tokens(ctx); err != nil || !tok.Match("a") {
		t.Fatalf("empty reload replaced the tokens: %v", err)
	}
}
