package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

func mustClientCredentials(t *testing.T, id, secret, tokenURL string) *wrapper.ClientCredentialsSource {
	t.Helper()
	src, err := wrapper.ClientCredentials(id, secret, tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// counter is an httptest server that counts its requests and answers 200.
func counter(t *testing.T, tls bool) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, `{"access_token":"stolen","token_type":"Bearer","expires_in":3600}`)
	})
	s := httptest.NewServer(h)
	if tls {
		s.Close()
		s = httptest.NewTLSServer(h)
	}
	t.Cleanup(s.Close)
	return s, &n
}

// TestTokenRequest_NeverFollowsRedirects: a token endpoint answering 307 or
// 308 to another origin gets an error of the no-usable-answer class, and
// the redirect target (plain http or https) never sees a request, so the
// client secret in the form body goes nowhere else.
func TestTokenRequest_NeverFollowsRedirects(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, tls := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d tls=%t", status, tls), func(t *testing.T) {
				target, hits := counter(t, tls)
				var asked atomic.Int64
				ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					asked.Add(1)
					http.Redirect(w, r, target.URL+"/token", status)
				}))
				defer ims.Close()
				api := newScripted(t, func(int, http.ResponseWriter, *http.Request) {})
				c := newClient(t, api.base(), func(o *wrapper.Options) {
					o.TokenSource = mustClientCredentials(t, "id", "redirected-secret-0123", ims.URL)
				})
				_, err := c.GetConnection(context.Background(), "c1")
				var te *wrapper.TokenError
				if !errors.Is(err, wrapper.ErrServer) || !errors.As(err, &te) || te.StatusCode != status {
					t.Fatalf("error %v (%T), want a *TokenError with status %d matching ErrServer", err, err, status)
				}
				if hits.Load() != 0 || asked.Load() == 0 || len(api.seen()) != 0 {
					t.Errorf("redirect target saw %d requests, token endpoint %d, API %d; want 0, >0, 0", hits.Load(), asked.Load(), len(api.seen()))
				}
			})
		}
	}
}

// TestTokenRequest_EndsWithContext: a token endpoint that never answers does
// not outlive the caller's context.
func TestTokenRequest_EndsWithContext(t *testing.T) {
	release := make(chan struct{})
	ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer ims.Close()
	defer close(release)
	api := newScripted(t, func(int, http.ResponseWriter, *http.Request) {})
	c := newClient(t, api.base(), func(o *wrapper.Options) {
		o.TokenSource = mustClientCredentials(t, "id", "silent-secret-0123", ims.URL)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.GetConnection(ctx, "c1")
		done <- err
	}()
	guard := time.NewTimer(time.Minute) // a safety net, not a measure
	defer guard.Stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want one matching context.DeadlineExceeded", err)
		}
	case <-guard.C:
		t.Fatal("the token request outlived its 2 s context by a minute")
	}
	if n := len(api.seen()); n != 0 {
		t.Errorf("the API saw %d requests without a token", n)
	}
}

// TestTokenRequest_ErrorsClassified: what a token endpoint answers decides the
// error class, through the Client as through the source, and the OAuth2
// error code is in the message while the secret is not.
func TestTokenRequest_ErrorsClassified(t *testing.T) {
	const secret = "classified-secret-0123"
	answer := func(status int, ctype, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	}
	oauthErr := func(code string) string {
		return fmt.Sprintf(`{"error":%q,"error_description":"refused %s"}`, code, secret)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    error
		code    string
	}{
		{"401 invalid_client", answer(401, "application/json", oauthErr("invalid_client")), wrapper.ErrUnauthorized, "invalid_client"},
		{"400 invalid_grant", answer(400, "application/json", oauthErr("invalid_grant")), wrapper.ErrUnauthorized, "invalid_grant"},
		{"400 unauthorized_client", answer(400, "application/json", oauthErr("unauthorized_client")), wrapper.ErrUnauthorized, "unauthorized_client"},
		{"503", answer(503, "text/html", "<html>down "+secret+"</html>"), wrapper.ErrServer, ""},
		{"429", answer(429, "application/json", `{"error":"slow_down"}`), wrapper.ErrRateLimited, "slow_down"},
		{"200 not a token", answer(200, "application/json", `{"nothing":"here"}`), wrapper.ErrServer, ""},
		{"200 not json", answer(200, "application/json", `<html>`+secret), wrapper.ErrServer, ""},
		{"refused connection", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokenURL := closed.URL
			if tc.handler != nil {
				ims := httptest.NewServer(tc.handler)
				defer ims.Close()
				tokenURL = ims.URL
			}
			api := newScripted(t, func(int, http.ResponseWriter, *http.Request) {})
			c := newClient(t, api.base(), func(o *wrapper.Options) {
				o.TokenSource = mustClientCredentials(t, "id", secret, tokenURL)
			})
			_, err := c.GetConnection(context.Background(), "c1")
			checkTokenError(t, err, tc.want, tc.code)
			for _, f := range secretscan.Scan(err.Error(), secret) {
				t.Errorf("secret in %q: %s", err, f)
			}
			if n := len(api.seen()); n != 0 {
				t.Errorf("the API saw %d requests", n)
			}
		})
	}
}

// checkTokenError asserts the class of a token error: a *TokenError
// matching want and carrying code, or a *TransportError when want is nil.
func checkTokenError(t *testing.T, err error, want error, code string) {
	t.Helper()
	if want == nil {
		var te *wrapper.TransportError
		if !errors.As(err, &te) {
			t.Errorf("error %v (%T), want a *TransportError", err, err)
		}
		return
	}
	var te *wrapper.TokenError
	if !errors.Is(err, want) || !errors.As(err, &te) {
		t.Fatalf("error %v (%T), want a *TokenError matching %v", err, err, want)
	}
	other := map[error]error{wrapper.ErrUnauthorized: wrapper.ErrServer, wrapper.ErrServer: wrapper.ErrUnauthorized}[want]
	if errors.Is(err, other) || te.Code != code || !strings.Contains(err.Error(), code) {
		t.Errorf("error %v: also matches %v, or code %q is not %q", err, other, te.Code, code)
	}
}
