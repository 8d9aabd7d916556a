package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/parameter"
	"github.com/peerbridge/peerbridge/internal/secrets"
)

// Tokens is the set of webhook tokens ingest accepts. Several may be valid at once, so a
// token can be rotated without downtime: add the new one, switch Peerdom, drop the old.
// It keeps only SHA-256 digests, and Match compares against all of them in constant time.
type Tokens struct {
	digests [][sha256.Size]byte
}

// NewTokens builds the set. Surrounding spaces are trimmed; an empty list or an empty
// token is an error (it would accept nothing, or anything).
func NewTokens(list []string) (*Tokens, error) {
	if len(list) == 0 {
		return nil, errors.New("no webhook token configured")
	}
	t := &Tokens{digests: make([][sha256.Size]byte, len(list))}
	for i, tok := range list {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return nil, fmt.Errorf("webhook token %d of %d is empty", i+1, len(list))
		}
		t.digests[i] = sha256.Sum256([]byte(tok))
	}
	return t, nil
}

// Match reports whether token is one of the set. Its time does not depend on where, or
// whether, the token matches, nor on the lengths involved (digests are compared).
func (t *Tokens) Match(token string) bool {
	if t == nil || token == "" {
		return false
	}
	d := sha256.Sum256([]byte(token))
	found := 0
	for i := range t.digests {
		found |= subtle.ConstantTimeCompare(d[:], t.digests[i][:])
	}
	return found == 1
}

// Tokens makes a fixed set its own TokenSource.
func (t *Tokens) Tokens(context.Context) (*Tokens, error) { return t, nil }

// ParseSecretTokens reads the value of the token secret: a JSON list of strings, or one
// plain token. Errors never quote the value.
func ParseSecretTokens(value string) ([]string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, errors.New("token secret is empty")
	}
	if !strings.HasPrefix(v, "[") {
		return []string{v}, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return nil, errors.New("token secret starts with '[' but is not a JSON list of strings")
	}
	return list, nil
}

// SplitTokenList reads a comma-separated token list (WEBHOOK_TOKENS), skipping empty items.
func SplitTokenList(s string) []string {
	var out []string
	for _, tok := range strings.Split(s, ",") {
		if tok = strings.TrimSpace(tok); tok != "" {
			out = append(out, tok)
		}
	}
	return out
}

// TokenLoader is a TokenSource that loads the tokens on first use (e.g. from Secrets
// Manager) and keeps them for the life of the process. A failed first load is retried
// at the next request. With MaxAge set it reloads tokens older than that, so a rotated
// secret reaches warm containers; a failed reload keeps the tokens it had (and waits
// MaxAge before trying again), so an outage of the secret store locks nobody out.
type TokenLoader struct {
	Load   func(ctx context.Context) ([]string, error)
	MaxAge time.Duration    // 0: never reload once loaded
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // reload failures are logged here; nil: not logged

	mu       sync.Mutex
	tokens   *Tokens
	loadedAt time.Time
}

// Tokens returns the current set, loading it when needed.
func (l *TokenLoader) Tokens(ctx context.Context) (*Tokens, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tokens != nil && (l.MaxAge <= 0 || now().Sub(l.loadedAt) < l.MaxAge) {
		return l.tokens, nil
	}
	list, err := l.Load(ctx)
	var t *Tokens
	if err == nil {
		t, err = NewTokens(list)
	}
	if err != nil {
		if l.tokens == nil {
			return nil, fmt.Errorf("load webhook tokens: %w", err)
		}
		if l.Logger != nil {
			l.Logger.LogAttrs(ctx, slog.LevelError, "webhook token reload failed; keeping the loaded tokens", slog.String("error", err.Error()))
		}
		l.loadedAt = now()
		return l.tokens, nil
	}
	l.tokens, l.loadedAt = t, now()
	return t, nil
}

// storedTokens is a TokenLoader of the tokens fetch reads (a secret's or a parameter's
// value: a JSON list or one token, ParseSecretTokens), read again every maxAge, so that a
// rotated token reaches warm containers.
func storedTokens(fetch func(context.Context) (string, error), maxAge time.Duration, logger *slog.Logger) *TokenLoader {
	return &TokenLoader{MaxAge: maxAge, Logger: logger, Load: func(ctx context.Context) ([]string, error) {
		value, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		return ParseSecretTokens(value)
	}}
}

// TokensFromEnv is the token source the function's environment names: WEBHOOK_TOKENS (the
// slot local runs fill, e.g. sam local invoke --env-vars; empty when deployed), else the
// secret WEBHOOK_TOKEN_SECRET_ID, else the parameter WEBHOOK_TOKEN_PARAMETER; the last two
// are read again every 5 minutes, so that a rotated token reaches warm containers.
func TokensFromEnv(getenv func(string) string, sm secrets.Client, ssm parameter.Client, logger *slog.Logger) (TokenSource, error) {
	const maxAge = 5 * time.Minute
	switch plain := SplitTokenList(getenv("WEBHOOK_TOKENS")); {
	case len(plain) > 0:
		tokens, err := NewTokens(plain)
		if err != nil {
			return nil, errors.New("WEBHOOK_TOKENS: " + err.Error())
		}
		return tokens, nil
	case getenv("WEBHOOK_TOKEN_SECRET_ID") != "":
		id := getenv("WEBHOOK_TOKEN_SECRET_ID")
		return storedTokens(func(ctx context.Context) (string, error) { return secrets.Fetch(ctx, sm, id) }, maxAge, logger), nil
	case getenv("WEBHOOK_TOKEN_PARAMETER") != "":
		name := getenv("WEBHOOK_TOKEN_PARAMETER")
		return storedTokens(func(ctx context.Context) (string, error) { return parameter.Fetch(ctx, ssm, name) }, maxAge, logger), nil
	}
	return nil, errors.New("set WEBHOOK_TOKEN_PARAMETER (an SSM parameter holding the tokens), WEBHOOK_TOKEN_SECRET_ID (a secret) or WEBHOOK_TOKENS")
}

// LoadTokens loads the tokens now, within timeout (a Lambda function's init), so that the
// first request does not wait for them. A failure is logged on h.Logger; each request
// then tries again, answering 503 meanwhile.
func (h *Handler) LoadTokens(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := h.Tokens.Tokens(ctx); err != nil && h.Logger != nil {
		h.Logger.Error("ingest: webhook tokens not loaded yet", "error", err.Error())
	}
}
