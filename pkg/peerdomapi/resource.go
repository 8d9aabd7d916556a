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
)

// Resource is one collection of the API (e.g. /roles) with items of type T.
type Resource[T any] struct {
	c    *Client
	path string
}

// Path is the collection's path below the base URL, e.g. "/roles".
func (r Resource[T]) Path() string { return r.path }

func (r Resource[T]) item(id string) string { return r.path + "/" + url.PathEscape(id) }

// Page reads one page: opts.PageSize items from opts.Offset.
func (r Resource[T]) Page(ctx context.Context, opts Options) ([]T, error) {
	raw, err := r.rawPage(ctx, opts)
	if err != nil {
		return nil, err
	}
	return decodeItems[T](r.path, raw)
}

func (r Resource[T]) rawPage(ctx context.Context, opts Options) ([]json.RawMessage, error) {
	q := opts.query()
	size := opts.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	q.Set("limit", strconv.Itoa(size))
	q.Set("offset", strconv.Itoa(max(opts.Offset, 0)))
	var page []json.RawMessage
	if err := r.c.do(ctx, http.MethodGet, r.path, q, nil, &page); err != nil {
		return nil, err
	}
	return page, nil
}

func decodeItems[T any](path string, raw []json.RawMessage) ([]T, error) {
	out := make([]T, len(raw))
	for i, m := range raw {
		if err := json.Unmarshal(m, &out[i]); err != nil {
			return nil, fmt.Errorf("peerdom api: GET %s: item %d is not the expected JSON: %v", path, i, err)
		}
	}
	return out, nil
}

// List reads every item, page after page, as an iterator. It stops at the first error,
// which it yields. A page shorter than asked for does not end the list — a server may cap
// the limit below what was asked — only an empty page does.
func (r Resource[T]) List(ctx context.Context, opts Options) iter.Seq2[T, error] {
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
func (r Resource[T]) ListRaw(ctx context.Context, opts Options) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		offset := max(opts.Offset, 0)
		var previousFirst json.RawMessage
		for {
			page, err := r.rawPage(ctx, Options{CustomFields: opts.CustomFields, PageSize: opts.PageSize, Offset: offset})
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			// A server that ignored offset would send the same page forever.
			if previousFirst != nil && bytes.Equal(previousFirst, page[0]) {
				yield(nil, fmt.Errorf("peerdom api: GET %s: offset %d returned the same page again; the server seems to ignore offset", r.path, offset))
				return
			}
			previousFirst = page[0]
			for _, item := range page {
				if !yield(item, nil) {
					return
				}
			}
			offset += len(page)
		}
	}
}

// All reads the whole list into a slice.
func (r Resource[T]) All(ctx context.Context, opts Options) ([]T, error) {
	var out []T
	for v, err := range r.List(ctx, opts) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Get reads one item; only opts.CustomFields applies.
func (r Resource[T]) Get(ctx context.Context, id string, opts Options) (T, error) {
	var v T
	err := r.c.do(ctx, http.MethodGet, r.item(id), opts.query(), nil, &v)
	return v, err
}

// GetRaw reads one item as the JSON the API sent, unknown fields included.
func (r Resource[T]) GetRaw(ctx context.Context, id string, opts Options) (json.RawMessage, error) {
	var v json.RawMessage
	err := r.c.do(ctx, http.MethodGet, r.item(id), opts.query(), nil, &v)
	return v, err
}

// Create posts a new item and returns it as the API stored it. It is a POST: not retried
// after an answer that leaves open whether it was applied.
func (r Resource[T]) Create(ctx context.Context, v T) (T, error) {
	var out T
	err := r.c.do(ctx, http.MethodPost, r.path, nil, v, &out)
	return out, err
}

// Update puts the item's set fields (empty ones are omitted from the JSON and left as
// they are) and returns the item as stored.
func (r Resource[T]) Update(ctx context.Context, id string, v T) (T, error) {
	var out T
	err := r.c.do(ctx, http.MethodPut, r.item(id), nil, v, &out)
	return out, err
}

// Delete removes the item.
func (r Resource[T]) Delete(ctx context.Context, id string) error {
	return r.c.do(ctx, http.MethodDelete, r.item(id), nil, nil, nil)
}
