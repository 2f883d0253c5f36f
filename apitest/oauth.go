package apitest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The OAuth2 authorization server of the fake lives beside the API, on the
// same origin: a client signs in with AuthorizePath and TokenPath as the
// iTwin Platform's identity service serves /connect/authorize and
// /connect/token.
const (
	// AuthorizePath is the authorization endpoint: it redirects straight back
	// to redirect_uri with a code and the state, as a consenting user would.
	AuthorizePath = "/oauth/authorize"
	// TokenPath is the token endpoint: grants client_credentials,
	// authorization_code (with a PKCE S256 verifier) and refresh_token.
	TokenPath = "/oauth/token"
	// ExportAuthorizePath is where the authorizationUrl of the authorization
	// information leads: visiting it lets the service hold the user's
	// refresh token (see Options.OAuth.RequireUserAuthorization).
	ExportAuthorizePath = "/oauth/export-authorize"
)

// OAuthOptions configure the fake's authorization server.
type OAuthOptions struct {
	// TokenLifetime is the expires_in of the access tokens it issues; 0 means
	// one hour. A lifetime shorter than the ten seconds x/oauth2 keeps in
	// reserve makes a client refresh at its next request: the way to test
	// refresh without waiting.
	TokenLifetime time.Duration
	// RequireUserAuthorization makes a run of a User connection complete
	// with result Error (task error UserNotAuthorized) when the user who
	// created it had not authorized the service, that is had not visited the
	// authorizationUrl of the authorization information. This is the fake's
	// model: the reference pages say that such runs need the user's refresh
	// token, not how the real service fails without it.
	RequireUserAuthorization bool
	// RefreshTokens is what the token endpoint does with a refresh token it
	// accepts: RotateRefreshTokens (the default) spends it and answers a new
	// one, ReuseRefreshTokens keeps it good.
	RefreshTokens RefreshTokenPolicy
	// RefreshDelay holds each refresh_token grant this long (real time)
	// before the token endpoint checks the refresh token, spends it and
	// answers, so that concurrent refreshes of one session overlap, as when
	// two processes find it expired at once. Server.WaitHeldRefreshes sees
	// them held and Server.ReleaseRefreshes answers them at once; a client
	// that gives up first spends nothing. 0 answers at once.
	RefreshDelay time.Duration
}

// RefreshTokenPolicy is what the fake's token endpoint does with a refresh
// token it accepts.
type RefreshTokenPolicy int

const (
	// RotateRefreshTokens makes each refresh token good for one use: a
	// refresh answers a new one, and the old one is refused afterwards with
	// invalid_grant, as identity services that rotate refresh tokens do.
	RotateRefreshTokens RefreshTokenPolicy = iota
	// ReuseRefreshTokens keeps a refresh token good after use: a refresh
	// answers no new one (RFC 6749 section 6 lets the client keep its own).
	ReuseRefreshTokens
)

// String is the policy's name on the command line: rotate or reuse.
func (p RefreshTokenPolicy) String() string {
	if p == ReuseRefreshTokens {
		return "reuse"
	}
	return "rotate"
}

// OAuthURLs returns the endpoints of the fake's authorization server, on the
// server's origin.
func (s *Server) OAuthURLs() (authorizeURL, tokenURL string) {
	o := strings.TrimSuffix(s.URL, basePath)
	return o + AuthorizePath, o + TokenPath
}

// maxOAuthEntries bounds each table of the authorization server, so that a
// fake running for days keeps bounded memory: the oldest entries go first.
const maxOAuthEntries = 4096

// Bounds of what the authorization endpoint keeps with a pending code (400
// beyond): with maxOAuthEntries codes, a few MiB at most.
const (
	maxRedirectURI = 2048
	maxLoginHint   = 256
)

// codeLifetime is how long an authorization code may be exchanged.
const codeLifetime = time.Minute

// grant is what an authorization code or a refresh token stands for.
type grant struct {
	clientID    string
	user        string
	redirectURI string // codes only
	challenge   string // codes only: the PKCE S256 challenge
	issued      time.Time
}

// boundedMap is a map that forgets its oldest keys beyond maxOAuthEntries.
type boundedMap[V any] struct {
	items map[string]V
	order []string
}

func (m *boundedMap[V]) put(k string, v V) {
	if m.items == nil {
		m.items = map[string]V{}
	}
	if _, ok := m.items[k]; !ok {
		m.order = append(m.order, k)
	}
	m.items[k] = v
	for len(m.order) > maxOAuthEntries {
		delete(m.items, m.order[0])
		m.order = m.order[1:]
	}
}

// take returns the value of k and forgets it: codes and refresh tokens are
// good for one use.
func (m *boundedMap[V]) take(k string) (V, bool) {
	v, ok := m.items[k]
	if ok {
		delete(m.items, k)
	}
	return v, ok
}

func (m *boundedMap[V]) get(k string) (V, bool) {
	v, ok := m.items[k]
	return v, ok
}

// oauthState is the authorization server's memory.
type oauthState struct {
	mu         sync.Mutex
	codes      boundedMap[grant]
	refresh    boundedMap[grant]
	users      boundedMap[string]   // access token -> user it was issued to
	tickets    boundedMap[string]   // ticket of an authorizationUrl -> user
	authorized boundedMap[struct{}] // users whose refresh token the service holds

	held    int           // refresh grants being held (OAuthOptions.RefreshDelay)
	changed chan struct{} // closed when held changes
	release chan struct{} // closed by ReleaseRefreshes
}

// newOAuthState returns an empty authorization server's memory.
func newOAuthState() *oauthState {
	return &oauthState{changed: make(chan struct{}), release: make(chan struct{})}
}

// holdChange adds d to the count of held refresh grants and wakes those
// who wait for it. The caller holds mu.
func (o *oauthState) holdChange(d int) {
	o.held += d
	close(o.changed)
	o.changed = make(chan struct{})
}

// WaitHeldRefreshes waits until the token endpoint holds exactly n
// refresh_token grants (OAuthOptions.RefreshDelay), or ctx ends: n = 0
// waits until those held have been answered or abandoned.
func (s *Server) WaitHeldRefreshes(ctx context.Context, n int) error {
	for {
		s.oauth.mu.Lock()
		held, changed := s.oauth.held, s.oauth.changed
		s.oauth.mu.Unlock()
		if held == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d refresh grants held, waiting for %d: %w", held, n, context.Cause(ctx))
		}
	}
}

// ReleaseRefreshes lets every refresh_token grant the token endpoint holds
// now (OAuthOptions.RefreshDelay) be checked and answered at once.
func (s *Server) ReleaseRefreshes() {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	close(s.oauth.release)
	s.oauth.release = make(chan struct{})
}

// holdRefresh holds a refresh grant for OAuthOptions.RefreshDelay, until
// ReleaseRefreshes or the end of the request. It reports whether the grant
// is to be answered (false: the client gave up).
func (s *Server) holdRefresh(r *http.Request) bool {
	delay := s.opts.OAuth.RefreshDelay
	if delay <= 0 {
		return true
	}
	s.oauth.mu.Lock()
	s.oauth.holdChange(1)
	release := s.oauth.release
	s.oauth.mu.Unlock()
	defer func() {
		s.oauth.mu.Lock()
		s.oauth.holdChange(-1)
		s.oauth.mu.Unlock()
	}()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-release:
	case <-r.Context().Done():
	}
	return r.Context().Err() == nil
}

// withOAuth routes the authorization server's paths to it and everything
// else to api. The OAuth paths are recorded like any request but need no
// bearer token.
func (s *Server) withOAuth(api http.Handler) http.Handler {
	s.oauth = newOAuthState()
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(AuthorizePath, s.record(http.HandlerFunc(s.authorize)))
	mux.Handle(TokenPath, s.record(http.HandlerFunc(s.token)))
	mux.Handle(ExportAuthorizePath, s.record(http.HandlerFunc(s.exportAuthorize)))
	return mux
}

// authorize is the authorization endpoint. A request it cannot send back
// (no valid redirect_uri) answers 400; other mistakes go back to the client
// as an OAuth error on the redirect, as RFC 6749 section 4.1.2.1 says.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if len(q.Get("redirect_uri")) > maxRedirectURI || len(q.Get("login_hint")) > maxLoginHint || len(q.Get("client_id")) > maxLoginHint {
		// What a pending code keeps is bounded: a flood of long ones
		// cannot pin the fake's memory.
		http.Error(w, fmt.Sprintf("invalid_request: redirect_uri is limited to %d bytes, login_hint and client_id to %d", maxRedirectURI, maxLoginHint), http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() || redirect.Host == "" || redirect.Fragment != "" || q.Get("client_id") == "" {
		http.Error(w, "invalid_request: client_id and an absolute redirect_uri are required", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	switch {
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case q.Get("state") == "":
		back.Set("error", "invalid_request")
		back.Set("error_description", "state is required")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE with code_challenge_method S256 is required")
	default:
		user := q.Get("login_hint")
		if user == "" {
			user = "fake-user"
		}
		code := newID(24)
		s.oauth.mu.Lock()
		s.oauth.codes.put(code, grant{clientID: q.Get("client_id"), user: user, redirectURI: redirect.String(),
			challenge: q.Get("code_challenge"), issued: s.opts.Clock.Now()})
		s.oauth.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// oauthError answers a token request with an OAuth error (RFC 6749 section
// 5.2).
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if clientID == "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client_id is required")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
		if secret == "" {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "a client secret is required")
			return
		}
		s.issue(w, clientID, "app:"+clientID, false)
	case "authorization_code":
		s.exchangeCode(w, r, clientID)
	case "refresh_token":
		s.refreshGrant(w, r, clientID)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
	}
}

// refreshGrant answers the refresh_token grant, after the hold of
// OAuthOptions.RefreshDelay: the refresh token must be one issued to this
// client and, when tokens rotate, not yet used.
func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, clientID string) {
	if !s.holdRefresh(r) {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the client gave up")
		return
	}
	rotate := s.opts.OAuth.RefreshTokens != ReuseRefreshTokens
	s.oauth.mu.Lock()
	var g grant
	var ok bool
	if rotate {
		g, ok = s.oauth.refresh.take(r.PostForm.Get("refresh_token"))
	} else {
		g, ok = s.oauth.refresh.get(r.PostForm.Get("refresh_token"))
	}
	s.oauth.mu.Unlock()
	if !ok || g.clientID != clientID {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is not valid")
		return
	}
	s.issue(w, clientID, g.user, rotate)
}

// exchangeCode answers the authorization_code grant: the code must be one
// the authorization endpoint issued to this client for this redirect_uri, not
// yet used nor expired, and the PKCE verifier must match its challenge.
func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, clientID string) {
	s.oauth.mu.Lock()
	g, ok := s.oauth.codes.take(r.PostForm.Get("code"))
	s.oauth.mu.Unlock()
	switch {
	case !ok || g.clientID != clientID || s.opts.Clock.Now().Sub(g.issued) > codeLifetime:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is not valid")
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	case !pkceMatches(r.PostForm.Get("code_verifier"), g.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	default:
		s.issue(w, clientID, g.user, true)
	}
}

// pkceMatches reports whether verifier is the S256 origin of challenge (RFC
// 7636 section 4.6).
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// issue answers a token response for user: a new access token and, with
// withRefresh, a new refresh token (for a signed-in person; on a refresh,
// only when tokens rotate: the old one was used up).
func (s *Server) issue(w http.ResponseWriter, clientID, user string, withRefresh bool) {
	lifetime := s.opts.OAuth.TokenLifetime
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	body := map[string]any{
		"access_token": "fake-at-" + newID(20),
		"token_type":   "Bearer",
		"expires_in":   int(lifetime / time.Second),
		"scope":        "itwin-platform",
	}
	s.oauth.mu.Lock()
	s.oauth.users.put(body["access_token"].(string), user)
	if withRefresh {
		rt := "fake-rt-" + newID(20)
		s.oauth.refresh.put(rt, grant{clientID: clientID, user: user, issued: s.opts.Clock.Now()})
		body["refresh_token"] = rt
		body["scope"] = "itwin-platform offline_access"
	}
	s.oauth.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}
