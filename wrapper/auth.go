package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultTokenURL is the token endpoint of the iTwin Platform's identity
// service.
const DefaultTokenURL = "https://ims.bentley.com/connect/token"

// Scope is the OAuth2 scope every Export API operation needs.
const Scope = "itwin-platform"

// StaticToken returns a TokenSource that always gives token, used as is: for
// a token obtained elsewhere (ITWIN_ACCESS_TOKEN) or for tests.
func StaticToken(token string) oauth2.TokenSource {
	return staticToken{&oauth2.Token{AccessToken: token, TokenType: "Bearer"}}
}

// staticToken gives the same token every time. Unlike
// oauth2.StaticTokenSource it does not copy it on each call: a Client only
// reads the token, and a request should not cost an allocation for it.
type staticToken struct{ tok *oauth2.Token }

// Token returns the token; callers must not modify it.
func (s staticToken) Token() (*oauth2.Token, error) { return s.tok, nil }

// ClientCredentials returns a TokenSource for a service application: tokens
// by the OAuth2 client-credentials grant with scope itwin-platform, cached
// until shortly before they expire. tokenURL "" means DefaultTokenURL. The
// secret is sent only to tokenURL, which must be https (http only on
// loopback), and a Client built on this source scrubs it from every error.
// ctx is used for the token requests and should live as long as the source.
func ClientCredentials(ctx context.Context, clientID, clientSecret, tokenURL string) oauth2.TokenSource {
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	cfg := &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     tokenURL,
		Scopes:       []string{Scope},
	}
	return &credentialsSource{src: cfg.TokenSource(ctx), secret: clientSecret, tokenURL: tokenURL}
}

// credentialsSource scrubs the client secret from token errors and refuses
// to send it over plain http.
type credentialsSource struct {
	src      oauth2.TokenSource
	secret   string
	tokenURL string
}

// Token returns a cached token, or a new one from the token endpoint.
func (s *credentialsSource) Token() (*oauth2.Token, error) {
	u, err := url.Parse(s.tokenURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, errors.New("client credentials: the token URL must be an absolute URL")
	}
	if u.Scheme != "https" && !isLoopback(u.Hostname()) {
		return nil, errors.New("client credentials: refusing to send the client secret over plain http to a non-loopback host")
	}
	tok, err := s.src.Token()
	if err != nil {
		return nil, fmt.Errorf("client credentials: %w", scrubbedError{err, RedactText(err.Error(), s.secret)})
	}
	return tok, nil
}

// secretsToRedact tells a Client which text to scrub from its errors.
func (s *credentialsSource) secretsToRedact() []string { return []string{s.secret} }
