package peerdomapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Collection is one readable collection of the API (e.g. /maps) with items of type T.
type Collection[T any] struct {
	c    *Client
	path string
}

// Resource is a collection that can also be written (e.g. /roles): items of type T are
// read, items of type In (the write shape) are sent.
type Resource[T, In any] struct {
	Collection[T]
}

// Path is the collection's path below the base URL, e.g. "/roles".
func (r Collection[T]) Path() string { return r.path }

func (r Collection[T]) item(id string) string { return r.path + "/" + url.PathEscape(id) }

// Page reads one page: opts.PageSize items from opts.Offset.
func (r Collection[T]) Page(ctx context.Context, opts Options) ([]T, error) {
	raw, err := r.rawPage(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(raw))
	for i, m := range raw {
		if err := json.Unmarshal(m, &out[i]); err != nil {
			return nil, fmt.Errorf("peerdom api: GET %s: item %d is not the expected JSON: %v", r.path, i, err)
		}
	}
	return out, nil
}

func (r Collection[T]) rawPage(ctx context.Context, opts Options) ([]json.RawMessage, error) {
	q, err := opts.listQuery()
	if err != nil {
		return nil, fmt.Errorf("peerdom api: GET %s: %w", r.path, err)
	}
	var page []json.RawMessage
	if err := r.c.do(ctx, http.MethodGet, r.path, q, nil, &page); err != nil {
		return nil, err
	}
	return page, nil
}

// List reads every item, page after page, as an iterator. It stops at the first error,
// which it yields. A page shorter than asked for does not end the list — a server may cap
// the limit below what was asked — only an empty page does.
func (r Collection[T]) List(ctx context.Context, opts Options) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for raw, err := range r.ListRaw(ctx, opts) {
			var v T
			if err == nil {
				if jerr := json.Unmarshal(raw, &v); jerr != nil {
					err = fmt.Errorf("peerdom api: GET %s: an item is not the expected JSON: %v", r.path, jerr)
				}
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// ListRaw is List yielding each item's JSON as the API sent it, unknown fields included.
func (r Collection[T]) ListRaw(ctx context.Context, opts Options) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		var previousFirst json.RawMessage
		for {
			page, err := r.rawPage(ctx, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			// A server that ignored offset would send the same page forever.
			if previousFirst != nil && bytes.Equal(previousFirst, page[0]) {
				yield(nil, fmt.Errorf("peerdom api: GET %s: offset %d returned the same page again; the server seems to ignore offset", r.path, opts.Offset))
				return
			}
			previousFirst = page[0]
			for _, item := range page {
				if !yield(item, nil) {
					return
				}
			}
			opts.Offset += len(page)
		}
	}
}

// All reads the whole list into a slice.
func (r Collection[T]) All(ctx context.Context, opts Options) ([]T, error) {
	var out []T
	for v, err := range r.List(ctx, opts) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Get reads one item; opts.CustomFields and opts.PeerRoles apply.
func (r Collection[T]) Get(ctx context.Context, id string, opts Options) (T, error) {
	var v T
	err := r.c.do(ctx, http.MethodGet, r.item(id), opts.query(), nil, &v)
	return v, err
}

// GetRaw reads one item as the JSON the API sent, unknown fields included.
func (r Collection[T]) GetRaw(ctx context.Context, id string, opts Options) (json.RawMessage, error) {
	var v json.RawMessage
	err := r.c.do(ctx, http.MethodGet, r.item(id), opts.query(), nil, &v)
	return v, err
}

// Create posts a new item and returns the API's answer. It is a POST: not retried after
// an answer that leaves open whether it was applied.
func (r Resource[T, In]) Create(ctx context.Context, in In) (T, error) {
	var out T
	err := r.c.do(ctx, http.MethodPost, r.path, nil, in, &out)
	return out, err
}

// Update puts the input's set fields (empty ones are left out of the body, and so left
// as they are) and returns the API's answer. What an update does to custom fields it
// does not name is unverified: read the item again to see what it holds.
func (r Resource[T, In]) Update(ctx context.Context, id string, in In) (T, error) {
	var out T
	err := r.c.do(ctx, http.MethodPut, r.item(id), nil, in, &out)
	return out, err
}

// Delete removes the item.
func (r Resource[T, In]) Delete(ctx context.Context, id string) error {
	return r.c.do(ctx, http.MethodDelete, r.item(id), nil, nil, nil)
}

// Options are the query options of a read.
type Options struct {
	// CustomFields adds with=customfields: the answer includes custom fields.
	CustomFields bool
	// PeerRoles adds with=roles to a peer's GET (API 0.6.0): the roles it fills.
	PeerRoles bool
	// IncludeFormer lists former peers too (includeFormer=true; the API lists active
	// peers only by default). Peers only.
	IncludeFormer bool
	// PageSize is the limit of each list request: 1 to MaxPageSize (0: DefaultPageSize).
	PageSize int
	// Offset is where a list starts (default 0).
	Offset int
}

// MaxPageSize is the largest limit the API accepts (documented: 1–100).
const MaxPageSize = 100

// DefaultPageSize is the limit a list asks for when Options.PageSize is zero.
const DefaultPageSize = MaxPageSize

// CheckPageSize says what is wrong with a page size, or nil: 0 (the default) or 1–100.
func CheckPageSize(n int) error {
	if n < 0 || n > MaxPageSize {
		return fmt.Errorf("page size %d is outside 1–%d, the API's limit", n, MaxPageSize)
	}
	return nil
}

func (o Options) query() url.Values {
	q := url.Values{}
	var with []string
	if o.CustomFields {
		with = append(with, "customfields")
	}
	if o.PeerRoles {
		with = append(with, "roles") // joined by a comma: unverified for more than one
	}
	if len(with) > 0 {
		q.Set("with", strings.Join(with, ","))
	}
	if o.IncludeFormer {
		q.Set("includeFormer", "true")
	}
	return q
}

func (o Options) listQuery() (url.Values, error) {
	if err := CheckPageSize(o.PageSize); err != nil {
		return nil, err
	}
	if o.Offset < 0 {
		return nil, fmt.Errorf("offset %d is negative", o.Offset)
	}
	size := o.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	q := o.query()
	q.Set("limit", strconv.Itoa(size))
	q.Set("offset", strconv.Itoa(o.Offset))
	return q, nil
}
