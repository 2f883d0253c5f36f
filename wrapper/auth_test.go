package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/wrapper"
)

// TestClientCredentials_TokenURLCheckedAtConstruction: a token URL that
// cannot be used is refused when the source is made, with a message naming
// the problem, and CheckEndpointURL says the same.
func TestClientCredentials_TokenURLCheckedAtConstruction(t *testing.T) {
	for _, tc := range []struct{ url, says string }{
		{"not a url", "not an absolute URL"},
		{"ftp://ims.example.com/token", `scheme "ftp"`},
		{"http://example.com/token", "plain http"},
		{"https://user:pw@ims.example.com/token", "user information"},
		{"/connect/token", "not an absolute URL"},
	} {
		src, err := wrapper.ClientCredentials("id", "secret-at-construction", tc.url)
		if src != nil || !errors.Is(err, wrapper.ErrValidation) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ClientCredentials(%q): %v, %v; want an ErrValidation saying %q", tc.url, src, err, tc.says)
		}
		if err := wrapper.CheckEndpointURL(tc.url); !errors.Is(err, wrapper.ErrValidation) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("CheckEndpointURL(%q): %v", tc.url, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the URL's password is in %q", err)
		}
	}
	for _, ok := range []string{"", "https://ims.example.com/connect/token", "http://127.0.0.1:9/token", "http://localhost/token", "http://[::1]:8/t"} {
		if _, err := wrapper.ClientCredentials("id", "secret", ok); err != nil {
			t.Errorf("ClientCredentials(%q): %v", ok, err)
		}
	}
	if _, err := wrapper.ClientCredentials("", "secret", ""); !errors.Is(err, wrapper.ErrValidation) {
		t.Errorf("no client id: %v", err)
	}
}

// TestStaticToken_GivesTheSameBearerToken: the token is used as given, typed
// Bearer, and the same one comes back on every call, with no copy made.
func TestStaticToken_GivesTheSameBearerToken(t *testing.T) {
	src := wrapper.StaticToken(" as-given-token ")
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessToken != " as-given-token " || first.TokenType != "Bearer" || !first.Expiry.IsZero() {
		t.Errorf("token %q of type %q expiring %v, want the given text, Bearer, no expiry", first.AccessToken, first.TokenType, first.Expiry)
	}
	if again, err := src.Token(); err != nil || again != first {
		t.Errorf("second call: %p, %v; want the same token %p", again, err, first)
	}
}

// TestClientCredentials_SendsTheGrantOnceAndCachesTheToken: the identity
// service gets one client-credentials request (the id and secret in a Basic
// header, the itwin-platform scope in the form) for two API calls, and the
// API sees its token on both.
func TestClientCredentials_SendsTheGrantOnceAndCachesTheToken(t *testing.T) {
	const id, secret = "service-app", "cc-secret-0123456789"
	type tokenRequest struct {
		Method, ContentType, User string
		BasicAuth, SecretInHeader bool
		Form                      url.Values
	}
	var mu sync.Mutex
	var asked []tokenRequest
	ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, basic := r.BasicAuth()
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		asked = append(asked, tokenRequest{r.Method, r.Header.Get("Content-Type"), user, basic, password == secret, r.PostForm})
		mu.Unlock()
		writeJSON(w, http.StatusOK, `{"access_token":"service-token-1","token_type":"Bearer","expires_in":3600}`)
	}))
	defer ims.Close()
	src, err := wrapper.ClientCredentials(id, secret, ims.URL)
	if err != nil {
		t.Fatal(err)
	}
	api := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"connection":{"id":"c1"}}`)
	})
	c := newClient(t, api.base(), func(o *wrapper.Options) { o.TokenSource = src })
	for range 2 {
		if _, err := c.GetConnection(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
	}
	want := []tokenRequest{{http.MethodPost, "application/x-www-form-urlencoded", id, true, true,
		url.Values{"grant_type": {"client_credentials"}, "scope": {wrapper.Scope}}}}
	mu.Lock()
	diff := cmp.Diff(want, asked)
	mu.Unlock()
	if diff != "" {
		t.Errorf("token requests (-want +got):\n%s", diff)
	}
	var auths []string
	for _, s := range api.seen() {
		auths = append(auths, s.Header.Get("Authorization"))
	}
	if diff := cmp.Diff([]string{"Bearer service-token-1", "Bearer service-token-1"}, auths); diff != "" {
		t.Errorf("Authorization the API saw (-want +got):\n%s", diff)
	}
}

// TestClientCredentials_SecretsAreTheFormsSent: Secrets lists the secret as
// the form body and a Basic header carry it, and hands out a copy.
func TestClientCredentials_SecretsAreTheFormsSent(t *testing.T) {
	src, err := wrapper.ClientCredentials("my app", "s&cret=1", "")
	if err != nil {
		t.Fatal(err)
	}
	// A failure names which form is missing, never the secret itself.
	want := []string{"s&cret=1", "my app:s&cret=1", "my+app:s%26cret%3D1"}
	forms := []string{"the secret", "id:secret", "escaped id:escaped secret"}
	got := src.Secrets()
	if len(got) != len(want) {
		t.Fatalf("Secrets gives %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Secrets()[%d] is not %s", i, forms[i])
		}
	}
	got[0] = "changed"
	if src.Secrets()[0] != want[0] {
		t.Error("changing the slice Secrets returned changed the source's secrets")
	}
	if _, err := wrapper.ClientCredentials("my app", "", ""); !errors.Is(err, wrapper.ErrValidation) {
		t.Errorf("no client secret: %v, want ErrValidation", err)
	}
}
