package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// authorizeClient is a Client with a token of its own on fake.
func authorizeClient(t *testing.T, fake *apitest.Server, token string) *wrapper.Client {
	t.Helper()
	c, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken(token)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthorizeUser_WaitsForTheVisit(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := authorizeClient(t, fake, "user-a")
	var calls atomic.Int32
	visited := make(chan struct{})
	err := c.AuthorizeUser(context.Background(), wrapper.AuthorizeOptions{
		MinInterval: time.Hour, // only the browser's return to the loopback page wakes the wait
		OnAuthorizationURL: func(u string) {
			calls.Add(1)
			go func() {
				defer close(visited)
				if status, page := browse(t, u); status != http.StatusOK || !strings.Contains(page, "checks your authorization") {
					t.Errorf("browser ended on %d %q, want the loopback page", status, page)
				}
			}()
		},
	})
	<-visited
	if err != nil || calls.Load() != 1 {
		t.Fatalf("AuthorizeUser = %v after %d URL calls, want nil after 1", err, calls.Load())
	}
	if err := c.CheckUserAuthorization(context.Background(), "https://app.example.com/cb"); err != nil {
		t.Errorf("CheckUserAuthorization after the visit = %v", err)
	}
	// Already authorized: no URL to open.
	if err := c.AuthorizeUser(context.Background(), wrapper.AuthorizeOptions{OnAuthorizationURL: func(string) { t.Error("URL given to an authorized user") }}); err != nil {
		t.Error(err)
	}
}

func TestAuthorizeUser_EndsWithTheContext(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := authorizeClient(t, fake, "user-b")
	ctx, cancel := context.WithCancel(context.Background())
	var url string
	err := c.AuthorizeUser(ctx, wrapper.AuthorizeOptions{
		RedirectURL:        "https://app.example.com/cb",
		MinInterval:        time.Millisecond,
		OnAuthorizationURL: func(u string) { url = u; cancel() },
	})
	var required *wrapper.AuthorizationRequiredError
	if !errors.As(err, &required) || !errors.Is(err, wrapper.ErrAuthorizationRequired) || required.URL != url ||
		!errors.Is(required.Waited, context.Canceled) || !strings.Contains(err.Error(), url) {
		t.Fatalf("err = %v, want an AuthorizationRequiredError with the URL %q, ended by the context", err, url)
	}
	if !strings.Contains(url, apitest.ExportAuthorizePath) || !strings.Contains(url, "redirect_url=https%3A%2F%2Fapp.example.com%2Fcb") {
		t.Errorf("URL %q, want the fake's authorization page sending back to the redirect URL", url)
	}
}

func TestCheckUserAuthorization_Malformed(t *testing.T) {
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []string{
			`{"authorizationInformation":{}}`,
			`{"authorizationInformation":{"isUserAuthorized":false}}`,
			`{"authorizationInformation":{"isUserAuthorized":false,"_links":{"authorizationUrl":{"href":"javascript:alert(1)"}}}}`,
		}[n%3])
	})
	c, err := wrapper.New(wrapper.Options{BaseURL: srv.URL + "/export", TokenSource: wrapper.StaticToken("x")})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := c.CheckUserAuthorization(context.Background(), "https://app.example.com/cb"); !errors.Is(err, wrapper.ErrMalformedResponse) {
			t.Errorf("err = %v, want ErrMalformedResponse", err)
		}
	}
}
