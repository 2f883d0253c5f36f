package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

// browse plays the browser: GET u, following redirects as a browser does,
// and returns the final status and page. It may run on its own goroutine.
func browse(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Errorf("browser: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// startLogin starts a sign-in at the fake's authorization server.
func startLogin(t *testing.T, fake *apitest.Server) *wrapper.Login {
	t.Helper()
	authURL, tokenURL := fake.OAuthURLs()
	l, err := wrapper.StartLogin(wrapper.LoginConfig{ClientID: "native-app", AuthorizeURL: authURL, TokenURL: tokenURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// tokenRequests returns the forms the fake's token endpoint received.
func tokenRequests(t *testing.T, fake *apitest.Server) []url.Values {
	t.Helper()
	var forms []url.Values
	for _, r := range fake.Requests() {
		if r.Path == apitest.TokenPath {
			form, err := url.ParseQuery(string(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			forms = append(forms, form)
		}
	}
	return forms
}

// grants are the grant types of token requests: what a failure may show of
// them (their other fields are secrets).
func grants(forms []url.Values) []string {
	var out []string
	for _, f := range forms {
		out = append(out, f.Get("grant_type"))
	}
	return out
}

// login signs in at the fake with a browser that follows the URL.
func login(t *testing.T, fake *apitest.Server) *wrapper.Session {
	t.Helper()
	l := startLogin(t, fake)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if status, page := browse(t, l.URL()); status != http.StatusOK || !strings.Contains(page, "Signed in") {
			t.Errorf("browser ended on %d %q", status, page)
		}
	}()
	sess, err := l.Wait(context.Background())
	<-done
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestLogin_WithPKCE(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	l := startLogin(t, fake)
	authURL, _ := url.Parse(l.URL())
	q := authURL.Query()
	redirect := l.RedirectURL()
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") || q.Get("redirect_uri") != redirect || q.Get("code_challenge_method") != "S256" ||
		q.Get("scope") != "itwin-platform offline_access" || len(q.Get("state")) < 32 || q.Get("client_id") != "native-app" {
		t.Fatalf("authorization URL %s lacks the loopback redirect, S256 PKCE, scopes, a random state or the client id", l.URL())
	}
	done := make(chan struct{})
	go func() { defer close(done); browse(t, l.URL()) }()
	sess, err := l.Wait(context.Background())
	<-done
	if err != nil {
		t.Fatal(err)
	}
	forms := tokenRequests(t, fake)
	if len(forms) != 1 || forms[0].Get("grant_type") != "authorization_code" ||
		oauth2.S256ChallengeFromVerifier(forms[0].Get("code_verifier")) != q.Get("code_challenge") || forms[0].Get("client_secret") != "" {
		t.Fatalf("token requests %v, want one authorization_code exchange with the verifier of the challenge and no secret", grants(forms))
	}
	if sess.ClientID != "native-app" || sess.AccessToken == "" || sess.RefreshToken == "" || sess.TokenType != "Bearer" ||
		time.Until(sess.Expiry) < 50*time.Minute {
		t.Fatalf("session of client %q, expiry %v: want the client, both tokens and an expiry an hour away", sess.ClientID, sess.Expiry)
	}
	// The listener is gone once Wait returned.
	if _, err := http.Get(redirect); err == nil {
		t.Error("the loopback listener still answers after the sign-in")
	}
}

// TestLogin_IgnoresAForeignState: callbacks with another state, or none, an
// error= included, are answered 400 with a plain page and change nothing:
// the sign-in goes on with the genuine redirect.
func TestLogin_IgnoresAForeignState(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	l := startLogin(t, fake)
	// The fake answers with a redirect to the callback; a forged one
	// carries another state.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	genuine := resp.Header.Get("Location")
	back, _ := url.Parse(genuine)
	for _, forged := range []url.Values{
		{"code": {back.Query().Get("code")}, "state": {"forged-state"}},
		{"error": {"access_denied"}, "state": {"forged-state"}},
		{"code": {"x"}},
		{"error": {"access_denied"}},
	} {
		u := *back
		u.RawQuery = forged.Encode()
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || strings.Contains(string(page), "<") {
			t.Errorf("forged redirect %v answered %d %s %q, want 400 and a plain page", forged, resp.StatusCode, resp.Header.Get("Content-Type"), page)
		}
	}
	if forms := tokenRequests(t, fake); len(forms) != 0 {
		t.Errorf("the code of a forged redirect was exchanged: %v", grants(forms))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if status, page := browse(t, genuine); status != http.StatusOK || !strings.Contains(page, "Signed in") {
			t.Errorf("genuine redirect answered %d %q", status, page)
		}
	}()
	sess, err := l.Wait(context.Background())
	<-done
	if err != nil || sess == nil || sess.AccessToken == "" {
		t.Fatalf("Wait = %v, %v; want the session of the genuine redirect", sess, err)
	}
	if forms := tokenRequests(t, fake); len(forms) != 1 {
		t.Errorf("token requests %v, want the one exchange of the genuine code", grants(forms))
	}
}

func TestLogin_ReportsTheIdentityServiceError(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	l := startLogin(t, fake)
	state := func() string { u, _ := url.Parse(l.URL()); return u.Query().Get("state") }()
	browse(t, l.RedirectURL()+"?error=access_denied&error_description=the+user+said+no%1b[31m&state="+state)
	_, err := l.Wait(context.Background())
	var le *wrapper.LoginError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "access_denied: the user said no[31m") {
		t.Fatalf("Wait = %v, want a LoginError with the service's error, control characters removed", err)
	}
}

func TestLogin_EndsWithTheContext(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	l := startLogin(t, fake)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}

func TestStartLogin_ChecksItsConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  wrapper.LoginConfig
		want error
	}{
		"no client id":      {wrapper.LoginConfig{}, wrapper.ErrValidation},
		"plain http token":  {wrapper.LoginConfig{ClientID: "a", TokenURL: "http://ims.example.com/token"}, wrapper.ErrValidation},
		"plain http author": {wrapper.LoginConfig{ClientID: "a", AuthorizeURL: "http://ims.example.com/auth"}, wrapper.ErrValidation},
		"relative":          {wrapper.LoginConfig{ClientID: "a", AuthorizeURL: "/auth"}, wrapper.ErrValidation},
		"bad port":          {wrapper.LoginConfig{ClientID: "a", Port: 70000}, wrapper.ErrValidation},
	} {
		if _, err := wrapper.StartLogin(tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// TestLogin_ErrorsCarryNoSecret: a token endpoint that echoes the exchange
// back (the code and the verifier) in a refusal or a failure: the errors are
// classified and carry neither.
func TestLogin_ErrorsCarryNoSecret(t *testing.T) {
	const code = "code-SECRET-0123456789"
	ims := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader([]int{http.StatusBadRequest, http.StatusInternalServerError}[n%2])
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, "you sent "+string(body))
	})
	for _, want := range []error{wrapper.ErrLoginFailed, wrapper.ErrServer} {
		l, err := wrapper.StartLogin(wrapper.LoginConfig{ClientID: "native-app", AuthorizeURL: ims.URL + "/authorize", TokenURL: ims.URL + "/token"})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(l.URL())
		done := make(chan struct{})
		go func() { defer close(done); browse(t, l.RedirectURL()+"?code="+code+"&state="+u.Query().Get("state")) }()
		_, err = l.Wait(context.Background())
		<-done
		if !errors.Is(err, want) {
			t.Fatalf("Wait = %v, want %v", err, want)
		}
		sent := ims.seen()
		form, _ := url.ParseQuery(sent[len(sent)-1].Body)
		if form.Get("code") != code || form.Get("code_verifier") == "" {
			t.Fatalf("the exchange sent %v", form)
		}
		for _, f := range secretscan.Scan(err.Error(), code, form.Get("code_verifier")) {
			t.Errorf("secret in %v: %s", want, f)
		}
	}
}
