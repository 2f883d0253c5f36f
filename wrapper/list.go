package wrapper

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"net/http"
	"net/url"

	"github.com/itwin-export/itwin-export/api"
)

// failed is a listing that yields only err.
func failed[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// listAll yields the items of a collection: the array named member of each
// page, following _links.next from first. Each link is resolved against the
// page that named it and checked like a Location. A link that repeats a page
// already fetched, or one past the client's MaxPages, ends the listing with
// an ErrMalformedResponse instead of looping; what it keeps of the pages
// seen is a hash of each URL, so memory stays bounded too.
func listAll[T any](ctx context.Context, c *Client, op *operation, first *http.Request, err error, member string) iter.Seq2[T, error] {
	if err != nil {
		return failed[T](fmt.Errorf("%s: building the request: %w", op.name, err))
	}
	return func(yield func(T, error) bool) {
		var zero T
		seed := maphash.MakeSeed()
		seen := map[uint64]bool{}
		for r := first; ; {
			key := maphash.String(seed, r.URL.String())
			switch {
			case seen[key]:
				yield(zero, c.listingError(op, r.URL, "_links.next repeats a page already listed"))
				return
			case len(seen) == c.maxPages:
				yield(zero, c.listingError(op, r.URL, fmt.Sprintf("the listing goes on past %d pages (Options.MaxPages)", c.maxPages)))
				return
			}
			seen[key] = true
			// A page's items come before the error of its next link.
			items, next, err := fetchPage[T](ctx, c, op, r, member)
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if err != nil {
				yield(zero, err)
				return
			}
			if next == nil {
				return
			}
			r = get(next)
		}
	}
}

// fetchPage gets one page of a listing: its items and the URL of the next
// page, if any, checked by resolve. A next link the client refuses comes
// with the page's items.
func fetchPage[T any](ctx context.Context, c *Client, op *operation, r *http.Request, member string) ([]T, *url.URL, error) {
	x, err := c.call(ctx, op, r, nil)
	if err != nil {
		return nil, nil, err
	}
	obj, err := c.decodeObject(x)
	if err != nil {
		return nil, nil, err
	}
	items, _, err := memberOf[[]T](c, x, obj.member(member), member, nil)
	if err != nil {
		return nil, nil, err
	}
	if obj.Links == nil || string(obj.Links) == "null" {
		return *items, nil, nil
	}
	links, _, err := memberOf[api.PagingLinks](c, x, obj.Links, "_links", nil)
	if err != nil || links.Next == nil {
		return *items, nil, err
	}
	next, err := c.resolve(x.url, links.Next.Href)
	return *items, next, err
}

// listingError is the ErrMalformedResponse of a listing that cannot go on.
func (c *Client) listingError(op *operation, u *url.URL, reason string) error {
	return &UnusableResponseError{Operation: op.name, Method: http.MethodGet, URL: c.redactURL(u.String()),
		StatusCode: http.StatusOK, Reason: reason, kind: ErrMalformedResponse}
}
