package wrapper

import (
	"context"
	"fmt"
	"net/http"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
	"golang.org/x/oauth2"
)

// authorize is the pipeline's stage that attaches the bearer token, only
// for the API's own origin and never over plain http except to loopback: a
// request elsewhere is refused, not sent. A ContextTokenSource gets the
// caller's context.
func (c *Client) authorize(m *message) (*http.Response, error) {
	req := m.req
	if !urlcheck.SameOrigin(req.URL, c.base) {
		return nil, fmt.Errorf("%s: %w", m.op.name, &LocationError{Location: c.redactURL(req.URL.String()), Reason: "not the API's scheme, host and port", kind: ErrForeignLocation})
	}
	// The URL is on the base URL's origin, which New checked is https or
	// loopback: a bearer token never goes over plain http elsewhere.
	tok, err := c.token(m.ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: getting a token: %w", m.op.name, scrubbedError{err, c.scrub(err.Error())})
	}
	// The header of the token last sent is kept: the same token (the usual
	// case) costs no new string, and its value is scrubbed from errors.
	last := c.lastToken.Load()
	if last == nil || last.token != tok.AccessToken || last.tokenType != tok.TokenType {
		last = c.newSentToken(last, tok)
		c.lastToken.Store(last)
	}
	req.Header["Authorization"] = last.header
	return m.next()
}

// token asks the token source for a token within ctx when it can.
func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	if s, ok := c.tokens.(ContextTokenSource); ok {
		return s.TokenContext(ctx)
	}
	tok, err := c.tokens.Token()
	if err == nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return tok, err
}

// scrub redacts free text with the client's known secrets.
func (c *Client) scrub(s string) string { return c.scrubber().Scrub(s) }

// scrubber removes the client's known secrets: the one of the token last
// sent, or the client's own before any token was sent.
func (c *Client) scrubber() *redact.Scrubber {
	if last := c.lastToken.Load(); last != nil {
		return last.scrubber
	}
	return c.secretsScrubber
}

// sentToken is a token as last sent, with its Authorization header value
// and a scrubber of the client's secrets and the tokens it sent.
type sentToken struct {
	token, tokenType string
	header           []string
	sent             []string // this token and the few sent before it
	scrubber         *redact.Scrubber
}

// tokensRemembered is how many tokens the client scrubs: the one it sends
// and the ones before it, which a slow answer may still echo.
const tokensRemembered = 4

// newSentToken makes the sentToken of tok, which follows prev (nil for
// the first).
func (c *Client) newSentToken(prev *sentToken, tok *oauth2.Token) *sentToken {
	sent := []string{tok.AccessToken}
	if prev != nil {
		sent = append(sent, prev.sent[:min(len(prev.sent), tokensRemembered-1)]...)
	}
	return &sentToken{token: tok.AccessToken, tokenType: tok.TokenType, header: []string{tok.Type() + " " + tok.AccessToken},
		sent: sent, scrubber: redact.NewScrubber(append(c.secrets[:len(c.secrets):len(c.secrets)], sent...))}
}

// knownSecrets are the client's secrets and the tokens it sent.
func (c *Client) knownSecrets() []string {
	if last := c.lastToken.Load(); last != nil {
		return append(c.secrets[:len(c.secrets):len(c.secrets)], last.sent...)
	}
	return c.secrets
}
