package apitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

const redirectURI = "http://127.0.0.1:9/callback"

// authorizeQuery is a valid authorization request for verifier and state.
func authorizeQuery(verifier, state string) url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {"native-app"},
		"redirect_uri":          {redirectURI},
		"scope":                 {"itwin-platform offline_access"},
		"state":                 {state},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
}

// authorize calls the authorization endpoint with q and returns the query
// of the redirect it answers.
func authorize(t *testing.T, s *apitest.Server, q url.Values) url.Values {
	t.Helper()
	authURL, _ := s.OAuthURLs()
	r := callWith(t, http.MethodGet, authURL+"?"+q.Encode(), "", nil)
	if r.status != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302; body %s", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI+"?") {
		t.Fatalf("authorize: Location %q does not go back to %s", r.header.Get("Location"), redirectURI)
	}
	return loc.Query()
}

// tokenAnswer is a token endpoint's answer.
type tokenAnswer struct {
	status int
	body   map[string]any
}

// postToken posts form to the token endpoint.
func postToken(t *testing.T, s *apitest.Server, form url.Values) tokenAnswer {
	t.Helper()
	_, tokenURL := s.OAuthURLs()
	resp, err := noFollow.PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token answer Cache-Control %q, want no-store", cc)
	}
	return tokenAnswer{resp.StatusCode, body}
}

// String shows the answer without its tokens: which fields it has, and its
// non-secret values.
func (a tokenAnswer) String() string {
	var parts []string
	for k, v := range a.body {
		if strings.HasSuffix(k, "_token") {
			v = "(set)"
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func wantOAuthError(t *testing.T, a tokenAnswer, status int, code string) {
	t.Helper()
	if a.status != status || a.body["error"] != code {
		t.Errorf("token answer %d %s, want %d error %s", a.status, a, status, code)
	}
}

func codeForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {"native-app"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}
}

func TestOAuthAuthorizationCodeWithPKCE(t *testing.T) {
	s := newServer(t, apitest.Options{OAuth: apitest.OAuthOptions{TokenLifetime: 5 * time.Second}})
	verifier := oauth2.GenerateVerifier()
	back := authorize(t, s, authorizeQuery(verifier, "state-1"))
	if back.Get("state") != "state-1" || back.Get("code") == "" || back.Get("error") != "" {
		t.Fatalf("redirect query: state %q, code given %t, error %q; want the state and a code", back.Get("state"), back.Get("code") != "", back.Get("error"))
	}
	code := back.Get("code")
	wantOAuthError(t, postToken(t, s, codeForm(code, oauth2.GenerateVerifier())), http.StatusBadRequest, "invalid_grant")
	// A refused exchange used the code up: even the right verifier fails now.
	wantOAuthError(t, postToken(t, s, codeForm(code, verifier)), http.StatusBadRequest, "invalid_grant")

	code = authorize(t, s, authorizeQuery(verifier, "state-2")).Get("code")
	wrongRedirect := codeForm(code, verifier)
	wrongRedirect.Set("redirect_uri", "http://127.0.0.1:9/other")
	wantOAuthError(t, postToken(t, s, wrongRedirect), http.StatusBadRequest, "invalid_grant")

	code = authorize(t, s, authorizeQuery(verifier, "state-3")).Get("code")
	a := postToken(t, s, codeForm(code, verifier))
	if a.status != http.StatusOK || a.body["token_type"] != "Bearer" || a.body["expires_in"] != 5.0 ||
		!strings.HasPrefix(a.body["access_token"].(string), "fake-at-") || !strings.HasPrefix(a.body["refresh_token"].(string), "fake-rt-") {
		t.Fatalf("token answer %d %s, want a bearer token expiring in 5s and a refresh token", a.status, a)
	}
	wantOAuthError(t, postToken(t, s, codeForm(code, verifier)), http.StatusBadRequest, "invalid_grant")
}

func TestOAuthAuthorizeRefusals(t *testing.T) {
	s := newServer(t, apitest.Options{})
	verifier := oauth2.GenerateVerifier()
	for name, change := range map[string]func(url.Values){
		"no state":         func(q url.Values) { q.Del("state") },
		"no PKCE":          func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"plain PKCE":       func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"token flow":       func(q url.Values) { q.Set("response_type", "token") },
		"short challenge":  func(q url.Values) { q.Set("code_challenge", "abc") },
		"unsupported mode": func(q url.Values) { q.Set("response_type", "id_token") },
	} {
		q := authorizeQuery(verifier, "st")
		change(q)
		back := authorize(t, s, q)
		if back.Get("error") == "" || back.Get("code") != "" {
			t.Errorf("%s: redirect error %q, code given %t; want an error and no code", name, back.Get("error"), back.Get("code") != "")
		}
	}
	authURL, _ := s.OAuthURLs()
	for _, redirect := range []string{"", "/relative", "http://127.0.0.1:9/cb#frag"} {
		q := authorizeQuery(verifier, "st")
		q.Set("redirect_uri", redirect)
		if r := callWith(t, http.MethodGet, authURL+"?"+q.Encode(), "", nil); r.status != http.StatusBadRequest {
			t.Errorf("redirect_uri %q: status %d, want 400 (never redirect to it)", redirect, r.status)
		}
	}
}

func TestOAuthRefreshRotates(t *testing.T) {
	s := newServer(t, apitest.Options{})
	verifier := oauth2.GenerateVerifier()
	first := postToken(t, s, codeForm(authorize(t, s, authorizeQuery(verifier, "st")).Get("code"), verifier))
	rt := first.body["refresh_token"].(string)
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"native-app"}, "refresh_token": {rt}}
	otherClient := url.Values{"grant_type": {"refresh_token"}, "client_id": {"other-app"}, "refresh_token": {rt}}
	wantOAuthError(t, postToken(t, s, otherClient), http.StatusBadRequest, "invalid_grant")

	first = postToken(t, s, codeForm(authorize(t, s, authorizeQuery(verifier, "st")).Get("code"), verifier))
	refresh.Set("refresh_token", first.body["refresh_token"].(string))
	second := postToken(t, s, refresh)
	if second.status != http.StatusOK || second.body["access_token"] == first.body["access_token"] ||
		second.body["refresh_token"] == first.body["refresh_token"] || second.body["expires_in"] != 3600.0 {
		t.Fatalf("refresh answer %d %s, want new tokens for an hour", second.status, second)
	}
	wantOAuthError(t, postToken(t, s, refresh), http.StatusBadRequest, "invalid_grant") // used up
}

func TestOAuthClientCredentials(t *testing.T) {
	s := newServer(t, apitest.Options{})
	a := postToken(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}, "client_secret": {"s3cret"}, "scope": {"itwin-platform"}})
	if a.status != http.StatusOK || a.body["access_token"] == nil || a.body["refresh_token"] != nil {
		t.Errorf("client credentials: %d %s, want an access token and no refresh token", a.status, a)
	}
	wantOAuthError(t, postToken(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}}), http.StatusUnauthorized, "invalid_client")
	wantOAuthError(t, postToken(t, s, url.Values{"grant_type": {"password"}, "client_id": {"svc"}}), http.StatusBadRequest, "unsupported_grant_type")
}

// authorizationHref returns the authorizationUrl of an answer.
func authorizationHref(t *testing.T, info api.AuthorizationInformationResponse) string {
	t.Helper()
	l := info.AuthorizationInformation.Links
	if l == nil || l.AuthorizationURL == nil {
		t.Fatalf("no authorizationUrl in %+v", info)
	}
	return l.AuthorizationURL.Href
}

// authInfo asks the authorization information with bearer.
func authInfo(t *testing.T, s *apitest.Server, bearer string) (bool, string) {
	t.Helper()
	r := callWith(t, http.MethodGet, s.URL+"/authorizationinformation?redirectUrl="+url.QueryEscape("http://127.0.0.1:9/done"), "",
		map[string]string{"Authorization": "Bearer " + bearer})
	info := decode[api.AuthorizationInformationResponse](t, r)
	return *info.AuthorizationInformation.IsUserAuthorized, authorizationHref(t, info)
}

func TestUserAuthorizedOnceTheURLIsVisited(t *testing.T) {
	s := newServer(t, apitest.Options{})
	verifier := oauth2.GenerateVerifier()
	tok := postToken(t, s, codeForm(authorize(t, s, authorizeQuery(verifier, "st")).Get("code"), verifier))
	access := tok.body["access_token"].(string)
	ok, href := authInfo(t, s, access)
	if ok {
		t.Fatal("a new user is authorized before visiting the authorizationUrl")
	}
	if strings.Contains(href, access) {
		t.Fatal("the authorizationUrl carries the access token")
	}
	r := callWith(t, http.MethodGet, href, "", nil)
	if r.status != http.StatusFound || r.header.Get("Location") != "http://127.0.0.1:9/done" {
		t.Fatalf("visit: %d to %q, want 302 to the redirect URL", r.status, r.header.Get("Location"))
	}
	if ok, _ := authInfo(t, s, access); !ok {
		t.Error("not authorized after visiting the authorizationUrl")
	}
	if ok, _ := authInfo(t, s, "someone-else"); ok {
		t.Error("another user is authorized too")
	}
	// The user stays authorized with the tokens of a refresh.
	next := postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "client_id": {"native-app"}, "refresh_token": {tok.body["refresh_token"].(string)}})
	if ok, _ := authInfo(t, s, next.body["access_token"].(string)); !ok {
		t.Error("the refreshed token's user is not authorized")
	}
	if r := callWith(t, http.MethodGet, strings.Split(href, "?")[0]+"?ticket=unknown", "", nil); r.status != http.StatusBadRequest {
		t.Errorf("unknown ticket: status %d, want 400", r.status)
	}
}

func TestRunOfUnauthorizedUserFails(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, OAuth: apitest.OAuthOptions{RequireUserAuthorization: true}})
	user := s.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	service := s.AddConnection(api.ExportConnectionCreate{IModelID: "m2", AuthenticationType: ptr(api.AuthenticationTypeService)}).ID
	result := func(conn string) (api.ExecutionResult, *api.TaskError) {
		t.Helper()
		r := createRun(t, s, conn)
		if r.status != http.StatusAccepted {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		clock.Advance(time.Hour)
		run := decode[api.ExportRunResponse](t, call(t, http.MethodGet, strings.TrimSuffix(s.URL, "/export")+r.header.Get("Location"), "")).Run
		return run.Result, run.Jobs[0].Tasks[0].Error
	}
	res, taskErr := result(user)
	if res != api.ExecutionResultError || taskErr == nil || *taskErr.ErrorCode != "UserNotAuthorized" || !strings.Contains(*taskErr.Description, "not authorized") {
		t.Fatalf("run of an unauthorized user: %s %+v, want Error with task error UserNotAuthorized", res, taskErr)
	}
	if res, _ := result(service); res != api.ExecutionResultSuccess {
		t.Errorf("run of a Service connection: %s, want Success", res)
	}
	_, href := authInfo(t, s, token)
	callWith(t, http.MethodGet, href, "", nil)
	res, taskErr = result(user)
	if diff := cmp.Diff([]any{api.ExecutionResultSuccess, (*api.TaskError)(nil)}, []any{res, taskErr}); diff != "" {
		t.Errorf("run after authorizing (-want +got):\n%s", diff)
	}
}

// signIn exchanges a code of the fake for tokens and returns the refresh
// form of its refresh token.
func signIn(t *testing.T, s *apitest.Server) url.Values {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	a := postToken(t, s, codeForm(authorize(t, s, authorizeQuery(verifier, "st")).Get("code"), verifier))
	rt, _ := a.body["refresh_token"].(string)
	if a.status != http.StatusOK || rt == "" {
		t.Fatalf("sign-in: %d %s, want tokens", a.status, a)
	}
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {"native-app"}, "refresh_token": {rt}}
}

func TestOAuthRefreshReuse(t *testing.T) {
	s := newServer(t, apitest.Options{OAuth: apitest.OAuthOptions{RefreshTokens: apitest.ReuseRefreshTokens}})
	refresh := signIn(t, s)
	var access []any
	for range 2 {
		a := postToken(t, s, refresh)
		if a.status != http.StatusOK || a.body["access_token"] == nil || a.body["refresh_token"] != nil {
			t.Fatalf("refresh: %d %s, want an access token and no new refresh token", a.status, a)
		}
		access = append(access, a.body["access_token"])
	}
	if access[0] == access[1] {
		t.Error("two refreshes answered the same access token")
	}
	other := url.Values{"grant_type": {"refresh_token"}, "client_id": {"other-app"}, "refresh_token": {refresh.Get("refresh_token")}}
	wantOAuthError(t, postToken(t, s, other), http.StatusBadRequest, "invalid_grant")
	if got := apitest.ReuseRefreshTokens.String() + " " + apitest.RotateRefreshTokens.String(); got != "reuse rotate" {
		t.Errorf("policy names %q", got)
	}
}

// TestOAuthRefreshHeldThenReleased: with RefreshDelay, two refreshes of one
// rotating refresh token are both held until released; then exactly one
// gets new tokens and the other invalid_grant: the race of two processes,
// made certain.
func TestOAuthRefreshHeldThenReleased(t *testing.T) {
	s := newServer(t, apitest.Options{OAuth: apitest.OAuthOptions{RefreshDelay: time.Minute}})
	refresh := signIn(t, s)
	answers := make(chan tokenAnswer, 2)
	for range 2 {
		go func() { answers <- postToken(t, s, refresh) }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitHeldRefreshes(ctx, 2); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		t.Fatalf("a held refresh was answered before the release: %d %s", a.status, a)
	default:
	}
	s.ReleaseRefreshes()
	statuses := []int{(<-answers).status, (<-answers).status}
	sort.Ints(statuses)
	if diff := cmp.Diff([]int{http.StatusOK, http.StatusBadRequest}, statuses); diff != "" {
		t.Errorf("statuses of the two refreshes (-want +got):\n%s", diff)
	}
}

// TestOAuthRefreshDelayEnds: a held refresh is answered when its delay has
// passed, without a release; one whose client gave up spends nothing.
func TestOAuthRefreshDelayEnds(t *testing.T) {
	s := newServer(t, apitest.Options{OAuth: apitest.OAuthOptions{RefreshDelay: time.Millisecond}})
	if a := postToken(t, s, signIn(t, s)); a.status != http.StatusOK {
		t.Fatalf("refresh after its delay: %d %s", a.status, a)
	}

	s = newServer(t, apitest.Options{OAuth: apitest.OAuthOptions{RefreshDelay: time.Minute}})
	refresh := signIn(t, s)
	_, tokenURL := s.OAuthURLs()
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(refresh.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noFollow.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gaveUp <- err
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := s.WaitHeldRefreshes(wctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the client's own request: %v, want canceled", err)
	}
	// Once the abandoned grant is let go, the refresh token is still good.
	if err := s.WaitHeldRefreshes(wctx, 0); err != nil {
		t.Fatal(err)
	}
	answer := make(chan tokenAnswer, 1)
	go func() { answer <- postToken(t, s, refresh) }()
	if err := s.WaitHeldRefreshes(wctx, 1); err != nil {
		t.Fatal(err)
	}
	s.ReleaseRefreshes()
	if a := <-answer; a.status != http.StatusOK {
		t.Errorf("refresh after an abandoned one: %d %s, want new tokens", a.status, a)
	}
}
