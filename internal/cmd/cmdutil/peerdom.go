package cmdutil

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// APIFlag is the --api-url flag of the commands that read the Peerdom API (doctor,
// export, reconcile); the key comes from $PEERDOM_API_KEY.
type APIFlag struct{ URL string }

// Register adds --api-url to fs.
func (f *APIFlag) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.URL, "api-url", "", "the Peerdom API base `URL` (default $PEERDOM_API_URL, else "+peerdomapi.DefaultBaseURL+")")
}

// Client is the Peerdom API client for cmd (its user agent is peerbridge-cmd), or nil
// after saying on stderr what is missing or wrong: the command then exits 2.
func (f *APIFlag) Client(cmd string, getenv func(string) string, stderr io.Writer) *peerdomapi.Client {
	key := strings.TrimSpace(getenv("PEERDOM_API_KEY"))
	if key == "" {
		fmt.Fprintf(stderr, "peerbridge %s: set PEERDOM_API_KEY to a Peerdom API key (an Owner creates one in Settings > My Data > API Keys)\n", cmd)
		return nil
	}
	url := f.URL
	if url == "" {
		url = getenv("PEERDOM_API_URL")
	}
	api, err := peerdomapi.New(url, key, peerdomapi.WithUserAgent("peerbridge-"+cmd))
	if err != nil {
		fmt.Fprintf(stderr, "peerbridge %s: %v\n", cmd, err)
		return nil
	}
	return api
}

// KeyRefused is what the commands reading the Peerdom API (export, reconcile) say when
// Peerdom refused the key (401), refused the organization the API (403: no paid plan),
// or answered from another base URL (a redirect not followed), or "" for any other error.
func KeyRefused(cmd string, err error) string {
	var apiErr *peerdomapi.Error
	if !errors.As(err, &apiErr) {
		return ""
	}
	if errors.Is(err, peerdomapi.ErrUnauthorized) {
		return fmt.Sprintf("peerbridge %s: Peerdom refused the API key (%d %s). Check PEERDOM_API_KEY: keys belong to one organization and only Owners create them (Settings > My Data > API Keys).",
			cmd, apiErr.StatusCode, http.StatusText(apiErr.StatusCode))
	}
	if apiErr.Hint() == "" || errors.Is(err, peerdomapi.ErrNotFound) {
		return ""
	}
	return fmt.Sprintf("peerbridge %s: Peerdom answered %d %s: %s", cmd, apiErr.StatusCode, http.StatusText(apiErr.StatusCode), apiErr.Hint())
}
