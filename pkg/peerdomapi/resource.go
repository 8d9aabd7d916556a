package peerdomapi

import (
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

// Path is the collection's path below the base URL, e.g. "/roles". For circles it is
// the path that answered ("/circles" or "/groups"), "/circles" before either did.
func (r Collection[T]) Path() string { return r.c.pathOf(r.path) }

func item(id string) string { return "/" + url.PathEscape(id) }

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
	if err := r.c.doAt(ctx, http.MethodGet, r.path, "", q, nil, &page); err != nil {
		return nil, err
	}
	return page, nil
}

// List reads every item, page after page, as an iterator. It stops at the first error,
// which it yields. See ListRaw for how a list ends.
func (r Collection[T]) List(ctx context.Context, opts Options) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for raw, err := range r.ListRaw(ctx, opts) {
			var v T
			if err == nil {
				if jerr := json.Unmarshal(raw, &v); jerr != nil {
					err = fmt.Errorf("peerdom api: GET %s: an item is not the expected JSON: %v", r.c.pathOf(r.path), jerr)
				}
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// ListRaw is List yielding each item's JSON as the API sent it, unknown fields included.
//
// Paging is documented for /peers only, so a list is read right whichever way an
// endpoint treats limit and offset, and yields each item once:
//   - a page shorter than the limit asked for is the last one, and so is an empty page;
//   - a page longer than the limit (limit ignored) is the whole rest of the list;
//   - a page whose items were all read already (offset ignored) ends the paging: the
//     list is read once more without limit and offset, as Peerdom's own client reads
//     it, and the items not yet read are yielded. Only when that answer is shorter than
//     what was read already does the list fail: the endpoint cannot be read whole.
//
// Items are told apart by their "id" (by their whole JSON when they have none).
func (r Collection[T]) ListRaw(ctx context.Context, opts Options) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		size := opts.PageSize
		if size == 0 {
			size = DefaultPageSize
		}
		seen := map[string]bool{}
		// fresh yields the items not read yet; false when the consumer stopped.
		fresh := func(page []json.RawMessage) (n int, more bool) {
			for _, item := range page {
				k := itemKey(item)
				if seen[k] {
					continue
				}
				seen[k] = true
				n++
				if !yield(item, nil) {
					return n, false
				}
			}
			return n, true
		}
		for {
			page, err := r.rawPage(ctx, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			n, more := fresh(page)
			if !more {
				return
			}
			if n == 0 {
				// The server ignored offset and sent items already read.
				if len(page) > size {
					return // it ignored limit too: the first page held the whole list
				}
				all, err := r.rawAll(ctx, opts)
				if err != nil {
					yield(nil, err)
					return
				}
				_, more := fresh(all)
				if more && len(all) < len(seen) {
					yield(nil, fmt.Errorf("peerdom api: GET %s: the server ignores offset and answers only %d of the %d items already read when asked without a limit: the list cannot be read whole", r.c.pathOf(r.path), len(all), len(seen)))
				}
				return
			}
			if len(page) != size {
				return // shorter: the last page; longer: limit ignored, the whole rest
			}
			opts.Offset += len(page)
		}
	}
}

// itemKey tells list items apart: by id, else by their JSON.
func itemKey(item json.RawMessage) string {
	var head struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(item, &head) == nil && !isNull(head.ID) {
		return "id:" + string(head.ID)
	}
	return "json:" + string(item)
}

// rawAll reads the list in one request without limit and offset.
func (r Collection[T]) rawAll(ctx context.Context, opts Options) ([]json.RawMessage, error) {
	var page []json.RawMessage
	if err := r.c.doAt(ctx, http.MethodGet, r.path, "", opts.query(), nil, &page); err != nil {
		return nil, err
	}
	return page, nil
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
	err := r.c.doAt(ctx, http.MethodGet, r.path, item(id), opts.query(), nil, &v)
	return v, err
}

// GetRaw reads one item as the JSON the API sent, unknown fields included.
func (r Collection[T]) GetRaw(ctx context.Context, id string, opts Options) (json.RawMessage, error) {
	var v json.RawMessage
	err := r.c.doAt(ctx, http.MethodGet, r.path, item(id), opts.query(), nil, &v)
	return v, err
}

// Create posts a new item and returns the API's answer. It is a POST: not retried after
// an answer that leaves open whether it was applied.
func (r Resource[T, In]) Create(ctx context.Context, in In) (T, error) {
	var out T
	err := r.c.doAt(ctx, http.MethodPost, r.path, "", nil, in, &out)
	return out, err
}

// Update puts the input's set fields (empty ones are left out of the body, and so left
// as they are) and returns the API's answer. What an update does to custom fields it
// does not name is unverified: read the item again to see what it holds.
func (r Resource[T, In]) Update(ctx context.Context, id string, in In) (T, error) {
	var out T
	err := r.c.doAt(ctx, http.MethodPut, r.path, item(id), nil, in, &out)
	return out, err
}

// Delete removes the item.
func (r Resource[T, In]) Delete(ctx context.Context, id string) error {
	return r.c.doAt(ctx, http.MethodDelete, r.path, item(id), nil, nil, nil)
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
