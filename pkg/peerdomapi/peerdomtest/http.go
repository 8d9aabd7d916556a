package peerdomtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

type userKey struct{}

// statusRecorder remembers the status written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ServeHTTP checks the key, applies faults, serves the API and logs the request.
func (p *Peerdom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	if p.cfg.Moved {
		if rest, ok := strings.CutPrefix(r.URL.Path, APIPrefix); ok && (rest == "" || rest[0] == '/') {
			target := MovedPrefix + rest
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			p.mu.Lock()
			p.requests = append(p.requests, Request{Method: r.Method, Path: rest, Query: r.URL.RawQuery, Status: http.StatusMovedPermanently, Moved: true})
			p.mu.Unlock()
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, MovedPrefix); ok {
			r2 := r.Clone(r.Context())
			r2.URL.Path = APIPrefix + rest
			r2.URL.RawPath = ""
			r = r2
		}
	}
	path := strings.TrimPrefix(r.URL.Path, APIPrefix)
	p.mu.Lock()
	user, ok := p.users[r.Header.Get("X-Api-Key")]
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.requests = keepLatest(append(p.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Status: rec.status, Author: user.Email}), p.cfg.KeepRecords)
		p.mu.Unlock()
	}()
	if !ok {
		writeError(rec, http.StatusUnauthorized, "invalid or missing API key (X-Api-Key header)")
		return
	}
	if p.cfg.NoPlan {
		writeError(rec, http.StatusForbidden, "your organization's plan does not include API access")
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
	f := p.takeFault(r.Method, path)
	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f == nil || f.Status == 0 {
		p.mux.ServeHTTP(rec, r)
		return
	}
	if f.Apply {
		p.mux.ServeHTTP(httptest.NewRecorder(), r)
	}
	if f.RetryAfter != "" {
		rec.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		rec.WriteHeader(f.Status)
		_, _ = io.WriteString(rec, f.Body)
		return
	}
	writeError(rec, f.Status, "injected fault: "+http.StatusText(f.Status))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with an error in the shape Peerdom's errors are read in
// (Pipedream reads "message").
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func author(r *http.Request) User {
	u, _ := r.Context().Value(userKey{}).(User)
	return u
}

// readObject reads a request body that must be one JSON object, by key.
func readObject(r *http.Request) (map[string]json.RawMessage, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return parseObject(b)
}

func parseObject(b []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return nil, errors.New("the body must be a JSON object")
	}
	return obj, nil
}
