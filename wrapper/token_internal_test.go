package wrapper

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestTokenCache_DefaultLimit: a token request whose context has no deadline (a
// plain Token call, as oauth2.ReuseTokenSource makes) ends after the
// source's limit; the limit is shortened here through the cache's field.
func TestTokenCache_DefaultLimit(t *testing.T) {
	release := make(chan struct{})
	ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer ims.Close()
	defer close(release)
	src, err := ClientCredentials("id", "limit-secret-0123", ims.URL)
	if err != nil {
		t.Fatal(err)
	}
	if src.cache.limit != 30*time.Second {
		t.Errorf("default limit %v, want 30s", src.cache.limit)
	}
	src.cache.limit = 50 * time.Millisecond
	if _, err := oauth2.ReuseTokenSource(nil, src).Token(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want one matching context.DeadlineExceeded", err)
	}
}

// TestTokenCache_ContextDeadlines: the fetch gets the caller's deadline when
// there is one, the limit otherwise, and always the non-redirecting HTTP
// client.
func TestTokenCache_ContextDeadlines(t *testing.T) {
	var got []context.Context
	c := newTokenCache(func(ctx context.Context) (*oauth2.Token, error) {
		got = append(got, ctx)
		return nil, errors.New("no token")
	})
	c.limit = time.Hour
	callerDeadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), callerDeadline)
	defer cancel()
	before := time.Now()
	_, _ = c.token(ctx)
	_, _ = c.token(context.Background())
	if d, ok := got[0].Deadline(); !ok || !d.Equal(callerDeadline) {
		t.Errorf("with a caller deadline: %v %t, want %v", d, ok, callerDeadline)
	}
	if d, ok := got[1].Deadline(); !ok || d.Before(before.Add(time.Hour)) || d.After(time.Now().Add(time.Hour)) {
		t.Errorf("without one: %v %t, want about an hour from now", d, ok)
	}
	for _, ctx := range got {
		hc, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
		if hc == nil || hc.CheckRedirect == nil || hc.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
			t.Errorf("the token HTTP client follows redirects: %+v", hc)
		}
	}
}

// TestTokenCache_RenewsBeforeExpiry drives the cache's clock: the token is
// reused until the margin before its expiry, then fetched anew.
func TestTokenCache_RenewsBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fetches := 0
	c := newTokenCache(func(context.Context) (*oauth2.Token, error) {
		fetches++
		return &oauth2.Token{AccessToken: "t", Expiry: now.Add(time.Hour)}, nil
	})
	c.now = func() time.Time { return now }
	ctx := context.Background()
	for range 3 {
		if _, err := c.token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if fetches != 1 {
		t.Fatalf("%d fetches for three calls within the token's life, want 1", fetches)
	}
	now = now.Add(time.Hour - tokenExpiryMargin)
	if _, err := c.token(ctx); err != nil || fetches != 2 {
		t.Errorf("at the margin before expiry: %d fetches, err %v; want 2", fetches, err)
	}
}

// TestTokenCache_WaitEndsWithContext: a caller waiting for another's fetch ends
// with its own context.
func TestTokenCache_WaitEndsWithContext(t *testing.T) {
	c := newTokenCache(func(context.Context) (*oauth2.Token, error) { return nil, errors.New("unused") })
	c.sem <- struct{}{} // another caller is fetching
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
