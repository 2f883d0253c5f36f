package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// apiError builds the *APIError of an error status. The body is decoded as
// the contract's ErrorResponse when it is one; otherwise only the redacted
// excerpt is kept.
func (c *Client) apiError(x *exchange) *APIError {
	e := &APIError{
		Operation:  x.op.name,
		Method:     x.op.method,
		URL:        c.redactURL(x.url.String()),
		StatusCode: x.status,
		Body:       redact.Excerpt(x.body, c.knownSecrets()...),
		Attempts:   x.attempts,
	}
	if d, ok := parseRetryAfter(x.header.Get("Retry-After"), c.now()); ok {
		e.RetryAfter = d
	}
	var body struct {
		Error *api.Error `json:"error"`
	}
	if json.Unmarshal(x.body, &body) == nil && body.Error != nil {
		e.Code = c.scrub(body.Error.Code)
		e.Message = c.scrub(body.Error.Message)
		e.Target = c.scrub(deref(body.Error.Target))
		if body.Error.Details != nil {
			for _, d := range *body.Error.Details {
				d.Code = c.scrub(d.Code)
				d.Message = c.scrub(d.Message)
				if d.Target != nil {
					t := c.scrub(*d.Target)
					d.Target = &t
				}
				e.Details = append(e.Details, d)
			}
		}
	}
	return e
}

// unexpected turns an exchange whose status the operation does not define
// into the right error: an *APIError from 400 up, a *UnusableResponseError below.
func (c *Client) unexpected(x *exchange) error {
	if x.status >= 400 {
		return c.apiError(x)
	}
	return &UnusableResponseError{
		Operation: x.op.name, Method: x.op.method, URL: c.redactURL(x.url.String()), StatusCode: x.status,
		Reason: fmt.Sprintf("status %d is not an answer %s defines", x.status, x.op.name),
		Body:   redact.Excerpt(x.body, c.knownSecrets()...), kind: ErrUnexpectedStatus,
	}
}

// decodeMember decodes a success body that must be a JSON object holding
// member (see decodeObject and memberOf).
func decodeMember[T any](c *Client, x *exchange, member string, check func(*T) string) (*T, json.RawMessage, error) {
	obj, err := c.decodeObject(x)
	if err != nil {
		return nil, nil, err
	}
	return memberOf(c, x, obj.member(member), member, check)
}

// object holds the members of a success answer that the client reads, each
// as sent. It is a struct, not a map, so that the first pass over a body
// costs little; member names match in any case, as encoding/json matches
// struct fields.
type object struct {
	Run                      json.RawMessage `json:"run"`
	Runs                     json.RawMessage `json:"runs"`
	Connection               json.RawMessage `json:"connection"`
	Connections              json.RawMessage `json:"connections"`
	AuthorizationInformation json.RawMessage `json:"authorizationInformation"`
	File                     json.RawMessage `json:"file"`
	Links                    json.RawMessage `json:"_links"`
}

// member is the member of o named name; nil when it is not one of object's.
func (o *object) member(name string) json.RawMessage {
	switch name {
	case "run":
		return o.Run
	case "runs":
		return o.Runs
	case "connection":
		return o.Connection
	case "connections":
		return o.Connections
	case "authorizationInformation":
		return o.AuthorizationInformation
	case "file":
		return o.File
	case "_links":
		return o.Links
	}
	return nil
}

// decodeObject decodes a success body that must be a JSON object.
func (c *Client) decodeObject(x *exchange) (*object, error) {
	obj := new(object)
	// Unmarshal also refuses data after the JSON value.
	if err := json.Unmarshal(x.body, obj); err != nil {
		return nil, c.malformed(x, "body is not the expected JSON: "+c.scrub(err.Error()))
	}
	return obj, nil
}

// memberOf decodes raw, the JSON of member in an answer's body, into a T
// which check, when not nil, vets (it returns what is wrong, or ""). It
// returns raw too: the member is decoded once, and GetRunRaw passes on
// what the API sent. A member missing or null, or refused by check, is an
// ErrMalformedResponse.
func memberOf[T any](c *Client, x *exchange, raw json.RawMessage, member string, check func(*T) string) (*T, json.RawMessage, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil, c.malformed(x, fmt.Sprintf("no %q member", member))
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, nil, c.malformed(x, fmt.Sprintf("%q is not the expected JSON: %s", member, c.scrub(err.Error())))
	}
	if check != nil {
		if problem := check(v); problem != "" {
			return nil, nil, c.malformed(x, problem)
		}
	}
	return v, raw, nil
}

// decodeRun decodes the body of a run's answer in one pass, when it
// can: a body with one "run" member, written without escapes or non-ASCII
// bytes, decodes straight into the run. Any other body (a duplicate or
// escaped key, where one pass could merge two members instead of keeping
// the last; or an error to report) takes decodeMember's two passes, so
// the result and every error are the same either way.
func (c *Client) decodeRun(x *exchange) (*api.ExportRun, error) {
	if onePassMember(x.body, "run") {
		var body struct {
			Run *api.ExportRun `json:"run"`
		}
		if json.Unmarshal(x.body, &body) == nil && body.Run != nil && checkRun(body.Run) == "" {
			return body.Run, nil
		}
	}
	run, _, err := decodeMember(c, x, "run", checkRun)
	return run, err
}

// onePassMember reports whether body can name member (ASCII, lower case)
// as a key at most once: it has no escapes and no non-ASCII bytes (which
// could spell the key another way, as encoding/json matches keys in any
// case and by Unicode folding), and "member" appears once at most, in any
// case, between quotes.
func onePassMember(body []byte, member string) bool {
	seen := 0
	for i, b := range body {
		switch {
		case b == '\\' || b >= utf8.RuneSelf:
			return false
		case b == '"' && i+len(member)+1 < len(body) && body[i+len(member)+1] == '"' &&
			strings.EqualFold(string(body[i+1:i+len(member)+1]), member):
			if seen++; seen > 1 {
				return false
			}
		}
	}
	return true
}

// malformed is the ErrMalformedResponse of a success answer the client
// cannot use, for the reason given.
func (c *Client) malformed(x *exchange, reason string) error {
	return &UnusableResponseError{
		Operation: x.op.name, Method: x.op.method, URL: c.redactURL(x.url.String()), StatusCode: x.status,
		Reason: reason, Body: redact.Excerpt(x.body, c.knownSecrets()...), kind: ErrMalformedResponse,
	}
}

// anonymous classifies answers that did not come through a Client's
// pipeline: no secrets of its own to scrub, the real clock.
var anonymous = &Client{secretsScrubber: redact.NewScrubber(nil), now: time.Now}

// CheckResponse classifies the answer of an operation called through API():
// nil when its status is one of success (any 2xx when none is given),
// otherwise the error the wrapper's own calls return for it: an *APIError
// from 400 up (errors.Is ErrNotFound, ErrServer, ...; the API's code and
// message read from the error body), a *UnusableResponseError matching
// ErrUnexpectedStatus below. Its URL and body excerpt are redacted, of the
// client's tokens and secrets too when resp came through a Client's
// pipeline. body is the body read (the generated response's Body).
func CheckResponse(resp *http.Response, body []byte, success ...int) error {
	if resp == nil {
		return errors.New("wrapper.CheckResponse: no response")
	}
	if slices.Contains(success, resp.StatusCode) || (len(success) == 0 && resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return nil
	}
	if b, ok := resp.Body.(*responseBody); ok {
		return b.c.unexpected(b.exchange())
	}
	x := &exchange{op: &operation{}, url: &url.URL{}, status: resp.StatusCode, header: resp.Header, body: body, attempts: 1}
	if resp.Request != nil && resp.Request.URL != nil {
		x.url = resp.Request.URL
		x.op = &operation{name: resp.Request.Method + " " + x.url.EscapedPath(), method: resp.Request.Method}
	}
	return anonymous.unexpected(x)
}
