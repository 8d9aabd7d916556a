package peerdomapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors to test for with errors.Is on an error returned by the client.
var (
	// ErrUnauthorized: the API refused the key (401 or 403).
	ErrUnauthorized = errors.New("peerdom api: key refused")
	// ErrNotFound: the entity does not exist (404).
	ErrNotFound = errors.New("peerdom api: not found")
	// ErrRateLimited: the API kept answering 429 until the client gave up.
	ErrRateLimited = errors.New("peerdom api: rate limited")
)

// bodyExcerptBytes bounds how much of an answer an error quotes: enough to show
// Peerdom's message, not enough to flood a log line.
const bodyExcerptBytes = 200

// Error is a request that failed: an HTTP status other than 2xx, or no answer at all
// (StatusCode 0 and Err set). It never contains the API key.
type Error struct {
	Method     string
	Path       string // the URL path, without the query
	StatusCode int
	Body       string        // a short excerpt of the answer, on one line
	Message    string        // the answer's "message", when it is a JSON object with one
	RetryAfter time.Duration // the server's Retry-After, when it sent one
	Attempts   int           // requests made, retries included
	Stopped    string        // why the client did not retry (further), when it could have mattered
	Err        error         // the connection error when there was no answer
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "peerdom api: %s %s: ", e.Method, e.Path)
	if e.StatusCode == 0 {
		fmt.Fprintf(&b, "no answer: %v", e.Err)
	} else {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
		switch {
		case e.Message != "":
			fmt.Fprintf(&b, ": %s", e.Message)
		case e.Body != "":
			fmt.Fprintf(&b, ": %q", e.Body)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Stopped != "" {
		fmt.Fprintf(&b, " (%s)", e.Stopped)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is maps statuses to the sentinel errors, so callers need not know the numbers.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// excerpt makes the quoted part of an answer: the first bytes on one line, cut at a
// rune boundary, with the key blanked out in case a server echoes the request headers.
func excerpt(body []byte, key string) string {
	s := string(body)
	if key != "" {
		s = strings.ReplaceAll(s, key, "[redacted]")
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= bodyExcerptBytes {
		return s
	}
	cut := bodyExcerptBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// errorMessage is the "message" of an error answer ({"message": "..."}, what Pipedream
// reads from Peerdom's errors), shortened and redacted like an excerpt; "" when there is
// none.
func errorMessage(body []byte, key string) string {
	var v struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil || strings.TrimSpace(v.Message) == "" {
		return ""
	}
	return excerpt([]byte(v.Message), key)
}
