package wrapper

import (
	"context"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// DefaultTokenURL is the token endpoint of the iTwin Platform's identity
// service.
const DefaultTokenURL = "https://ims.bentley.com/connect/token"

// Scope is the OAuth2 scope every Export API operation needs.
const Scope = "itwin-platform"

// StaticToken returns a TokenSource that always gives token, used as is: for
// a token obtained elsewhere (ITWIN_ACCESS_TOKEN) or for tests. New refuses
// a StaticToken of an empty or all-whitespace token (ErrValidation).
func StaticToken(token string) oauth2.TokenSource {
	return staticToken{&oauth2.Token{AccessToken: token, TokenType: "Bearer"}}
}

// staticToken gives the same token every time. Unlike
// oauth2.StaticTokenSource it does not copy it on each call: a Client only
// reads the token, and a request should not cost an allocation for it.
type staticToken struct{ tok *oauth2.Token }

// Token returns the token; callers must not modify it.
func (s staticToken) Token() (*oauth2.Token, error) { return s.tok, nil }

// ClientCredentialsSource gives the tokens of a service application, by the
// OAuth2 client-credentials grant with scope itwin-platform. It caches each
// token until shortly before it expires, so it needs no
// oauth2.ReuseTokenSource around it. Its token requests never follow a
// redirect (the secret goes only to the configured token URL) and end with
// the context of the API request that needs the token, or after 30 seconds
// when that context has no deadline.
type ClientCredentialsSource struct {
	cfg      clientcredentials.Config
	cache    *tokenCache
	secrets  []string
	scrubber *redact.Scrubber
	tokenURL string
}

// ClientCredentials returns the token source of a service application.
// tokenURL "" means DefaultTokenURL. The token URL is checked here, once
// (see CheckEndpointURL): https, or http only to a loopback address. A Client
// built on the source scrubs its secret from every error and log line; when
// you wrap the source in another, pass its Secrets in Options.Secrets.
func ClientCredentials(clientID, clientSecret, tokenURL string) (*ClientCredentialsSource, error) {
	if clientID == "" || clientSecret == "" {
		return nil, &ValidationError{Problems: []Problem{{Field: "client credentials", Message: "both the client id and the client secret are required"}}}
	}
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	if err := CheckEndpointURL(tokenURL); err != nil {
		return nil, err
	}
	s := &ClientCredentialsSource{
		cfg: clientcredentials.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			TokenURL:     tokenURL,
			Scopes:       []string{Scope},
		},
		// The secret as sent: in the form body, and in a Basic header of
		// the escaped id and secret.
		secrets:  []string{clientSecret, clientID + ":" + clientSecret, url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret)},
		tokenURL: tokenURL,
	}
	s.scrubber = redact.NewScrubber(s.secrets)
	s.cache = newTokenCache(s.fetch)
	return s, nil
}

// Token returns a valid token, bounded by the default limit of 30 seconds.
// A Client calls TokenContext instead.
func (s *ClientCredentialsSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext returns the cached token while it is valid, else a new one
// from the token endpoint, requested within ctx. A refusal of the
// credentials matches ErrUnauthorized; see TokenError.
func (s *ClientCredentialsSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return s.cache.token(ctx)
}

// Secrets returns the credentials the source sends, for a Client to scrub
// from errors and logs. New reads them from a source given directly as
// Options.TokenSource; a source wrapped in another hides this method, so
// pass them in Options.Secrets then.
func (s *ClientCredentialsSource) Secrets() []string {
	return append([]string(nil), s.secrets...)
}

// fetch makes one token request.
func (s *ClientCredentialsSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	tok, err := s.cfg.Token(ctx)
	if err != nil {
		return nil, classifyTokenError(ctx, s.tokenURL, err, s.scrubber.Scrub)
	}
	return tok, nil
}
