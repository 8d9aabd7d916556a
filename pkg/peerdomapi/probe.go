package peerdomapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Answer is one answer of the API as Probe received it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Probe sends one request to path (below the base URL) and returns the answer whatever
// its status: no retry, no decoding, no reading of the key again. A redirect between
// Peerdom's own hosts is followed (and moves the client's base) as for every call; any
// other is returned as an *Error. It is for finding out how an API behaves (peerbridge
// doctor), not for ordinary calls. body, when not nil, is sent as JSON.
func (c *Client) Probe(ctx context.Context, method, path string, query url.Values, body any) (Answer, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return Answer{}, fmt.Errorf("peerdom api: %s %s: encoding the request: %w", method, path, err)
		}
	}
	u := c.baseURL()
	u.Path += path
	u.RawQuery = query.Encode()
	for hops := 0; ; hops++ {
		status, header, respBody, err := c.send(ctx, method, &u, b, c.currentKey())
		if err != nil {
			return Answer{}, &Error{Method: method, Path: u.Path, Attempts: 1, Err: err}
		}
		if isRedirect(status) {
			next, rerr := c.follow(&u, path, status, header.Get("Location"), hops)
			if rerr != nil {
				rerr.Method, rerr.Attempts = method, 1
				return Answer{Status: status, Header: header, Body: respBody}, rerr
			}
			u = *next
			continue
		}
		return Answer{Status: status, Header: header, Body: respBody}, nil
	}
}
