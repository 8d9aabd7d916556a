package peerdomapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors to test for with errors.Is on an error returned by the client.
var (
	// ErrUnauthorized: the API refused the key (401).
	ErrUnauthorized = errors.New("peerdom api: key refused")
	// ErrNoPlan: the API knows the key but refuses the organization (403): Peerdom's
	// API works for paid organizations and trials only.
	ErrNoPlan = errors.New("peerdom api: forbidden (no plan with API access?)")
	// ErrRedirected: the API answered with a redirect the client does not follow (to a
	// host that is not Peerdom's, or too many).
	ErrRedirected = errors.New("peerdom api: redirected")
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
	// Location is where a redirect pointed (scheme, host and path), on a 3xx not followed.
	Location string
	// SuggestedBase is the base URL that redirect implies, when it kept the request's path.
	SuggestedBase string
}

// Hint is what a person should do about the error, "" when there is nothing to add to
// the status: a refused key, an organization without API access, a missing entity or
// endpoint, a redirect not followed.
func (e *Error) Hint() string {
	switch {
	case isRedirect(e.StatusCode) && e.Location != "":
		host := e.Location
		if u, err := url.Parse(e.Location); err == nil {
			host = u.Host
		}
		if e.SuggestedBase != "" {
			return fmt.Sprintf("the API answered from %s: set PeerdomApiUrl (PEERDOM_API_URL, --api-url) to %s", host, e.SuggestedBase)
		}
		return fmt.Sprintf("the API answered from %s (%s): check PeerdomApiUrl (PEERDOM_API_URL, --api-url)", host, e.Location)
	case e.StatusCode == http.StatusUnauthorized:
		return "the API key was refused: check it (a key belongs to one organization; only Owners create keys, in Peerdom under Settings > My Data > API Keys)"
	case e.StatusCode == http.StatusForbidden:
		return "the key is known but the organization may not use the API: Peerdom's API works only for organizations on a paid plan or in a trial"
	case e.StatusCode == http.StatusNotFound:
		return "not found: the entity does not exist (any more), or, if every call says so, the base URL is wrong (Peerdom's is " + DefaultBaseURL + ")"
	}
	return ""
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
	if h := e.Hint(); h != "" {
		fmt.Fprintf(&b, ": %s", h)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is maps statuses to the sentinel errors, so callers need not know the numbers.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrNoPlan:
		return e.StatusCode == http.StatusForbidden
	case ErrRedirected:
		return isRedirect(e.StatusCode)
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
