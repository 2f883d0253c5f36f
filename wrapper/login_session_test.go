package wrapper_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

// bearers returns the bearer tokens the fake's API received, in order.
func bearers(fake *apitest.Server) []string {
	var out []string
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/export/") {
			out = append(out, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
	}
	return out
}

// sessionClient is a Client on the session saved in store.
func sessionClient(t *testing.T, fake *apitest.Server, store *wrapper.SessionStore) (*wrapper.Client, *wrapper.SessionSource) {
	t.Helper()
	sess, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	src, err := wrapper.SessionTokenSource(store, sess, wrapper.SessionOptions{OnSaveError: func(err error) { t.Errorf("save: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: src})
	if err != nil {
		t.Fatal(err)
	}
	return c, src
}

func TestSessionSource_UsedThenRefreshedAndSavedBack(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	store := &wrapper.SessionStore{Path: wrapper.SessionPath(t.TempDir())}
	first := login(t, fake)
	if err := store.Save(first); err != nil {
		t.Fatal(err)
	}
	c, _ := sessionClient(t, fake, store)
	if _, err := c.AuthorizationInformation(context.Background(), "https://app.example.com/cb"); err != nil {
		t.Fatal(err)
	}
	if got := bearers(fake); len(got) != 1 || got[0] != first.AccessToken {
		t.Fatalf("bearers %q, want the signed-in access token", got)
	}
	if n := len(tokenRequests(t, fake)); n != 1 {
		t.Fatalf("%d token requests, want only the sign-in's: a valid token is not refreshed", n)
	}

	// The access token expires: the next call refreshes it.
	expired := *first
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := store.Save(&expired); err != nil {
		t.Fatal(err)
	}
	c, src := sessionClient(t, fake, store)
	if _, err := c.AuthorizationInformation(context.Background(), "https://app.example.com/cb"); err != nil {
		t.Fatal(err)
	}
	forms := tokenRequests(t, fake)
	if len(forms) != 2 || forms[1].Get("grant_type") != "refresh_token" || forms[1].Get("refresh_token") != first.RefreshToken ||
		forms[1].Get("client_id") != "native-app" || forms[1].Get("client_secret") != "" {
		t.Fatalf("token requests %v, want a refresh_token grant of the native app with the saved refresh token", grants(forms))
	}
	saved, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if saved.AccessToken == first.AccessToken || saved.RefreshToken == first.RefreshToken || cmp.Diff(*saved, src.Session()) != "" {
		t.Error("the saved session does not hold the refreshed (rotated) tokens")
	}
	if got := bearers(fake); got[len(got)-1] != saved.AccessToken {
		t.Errorf("the API got %q, want the refreshed token", got[len(got)-1])
	}
}

func TestSessionSource_ShortLivedTokensRefreshAtOnce(t *testing.T) {
	fake := newFake(t, apitest.Options{OAuth: apitest.OAuthOptions{TokenLifetime: 5 * time.Second}})
	store := &wrapper.SessionStore{Path: wrapper.SessionPath(t.TempDir())}
	if err := store.Save(login(t, fake)); err != nil {
		t.Fatal(err)
	}
	_, src := sessionClient(t, fake, store)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if forms := tokenRequests(t, fake); len(forms) != 2 || forms[1].Get("grant_type") != "refresh_token" {
		t.Fatalf("token requests %v, want the sign-in then a refresh", grants(forms))
	}
}

func TestSessionSource_RefusedRefreshSaysSignInAgain(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	_, tokenURL := fake.OAuthURLs()
	store := &wrapper.SessionStore{Path: wrapper.SessionPath(t.TempDir())}
	const refresh, access = "revoked-refresh-token-42", "old-access-token-42"
	sess := &wrapper.Session{ClientID: "native-app", TokenURL: tokenURL, AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(-time.Hour)}
	if err := store.Save(sess); err != nil {
		t.Fatal(err)
	}
	c, _ := sessionClient(t, fake, store)
	_, err := c.AuthorizationInformation(context.Background(), "https://app.example.com/cb")
	var expired *wrapper.SessionExpiredError
	var te *wrapper.TokenError
	if !errors.As(err, &expired) || !errors.Is(err, wrapper.ErrUnauthorized) || !errors.As(err, &te) || te.Code != "invalid_grant" ||
		!strings.Contains(err.Error(), "sign in again") {
		t.Fatalf("err = %v, want a SessionExpiredError (ErrUnauthorized, invalid_grant) saying to sign in again", err)
	}
	for _, f := range secretscan.Scan(err.Error(), refresh, access) {
		t.Errorf("secret in the error: %s", f)
	}
	if len(bearers(fake)) != 0 {
		t.Error("the API was called without a valid token")
	}
	if saved, _ := store.Load(); cmp.Diff(saved, sess) != "" {
		t.Error("a refused refresh changed the saved session")
	}
}

// TestSessionSource_RefreshedElsewhereIsUsed: two sources of one expired session
// (two processes): the first refreshes and saves; the second re-reads the
// saved session under the lock, finds it refreshed and uses its token
// without a request of its own. The refresh token rotates, so a second
// refresh would have been refused.
func TestSessionSource_RefreshedElsewhereIsUsed(t *testing.T) {
	fake := newFake(t, apitest.Options{OAuth: apitest.OAuthOptions{RefreshTokens: apitest.RotateRefreshTokens}})
	store := &wrapper.SessionStore{Path: wrapper.SessionPath(t.TempDir())}
	expired := *login(t, fake)
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := store.Save(&expired); err != nil {
		t.Fatal(err)
	}
	_, first := sessionClient(t, fake, store)
	_, second := sessionClient(t, fake, store) // loaded before the first refreshes
	tok1, err := first.Token()
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := second.Token()
	if err != nil {
		t.Fatalf("the second source: %v, want the token the first saved", err)
	}
	if tok2.AccessToken != tok1.AccessToken || second.Session().RefreshToken != first.Session().RefreshToken {
		t.Error("the second source does not use the session the first refreshed")
	}
	if got := grants(tokenRequests(t, fake)); cmp.Diff([]string{"authorization_code", "refresh_token"}, got) != "" {
		t.Errorf("token requests %v, want the sign-in and one refresh", got)
	}
}
