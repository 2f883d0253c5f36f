package wrapper

import (
	"encoding/json"
	"fmt"

	"github.com/itwin-export/itwin-export/api"
)

// apiError builds the *APIError of an error status. The body is decoded as
// the contract's ErrorResponse when it is one; otherwise only the redacted
// excerpt is kept.
func (c *Client) apiError(x *exchange) *APIError {
	e := &APIError{
		Operation:  x.op.name,
		Method:     x.op.method,
		URL:        RedactURL(x.url.String()),
		StatusCode: x.status,
		Body:       excerpt(x.body, c.knownSecrets()...),
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
// into the right error: an *APIError from 400 up, a *ResponseError below.
func (c *Client) unexpected(x *exchange) error {
	if x.status >= 400 {
		return c.apiError(x)
	}
	return &ResponseError{
		Operation: x.op.name, Method: x.op.method, URL: RedactURL(x.url.String()), StatusCode: x.status,
		Reason: fmt.Sprintf("status %d is not an answer %s defines", x.status, x.op.name),
		Body:   excerpt(x.body, c.knownSecrets()...), kind: ErrUnexpectedStatus,
	}
}

// decodeMember decodes a success body that must be a JSON object holding
// member (see decodeObject and memberOf).
func decodeMember[T any](c *Client, x *exchange, member string, check func(*T) string) (*T, json.RawMessage, error) {
	obj, err := c.decodeObject(x)
	if err != nil {
		return nil, nil, err
	}
	return memberOf(c, x, obj, member, check)
}

// decodeObject decodes a success body that must be a JSON object into its
// members, each kept as sent.
func (c *Client) decodeObject(x *exchange) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	// Unmarshal also refuses data after the JSON value.
	if err := json.Unmarshal(x.body, &obj); err != nil || obj == nil {
		reason := "body is not a JSON object"
		if err != nil {
			reason = "body is not the expected JSON: " + c.scrub(err.Error())
		}
		return nil, c.malformed(x, reason)
	}
	return obj, nil
}

// memberOf decodes member of obj, a body decoded by decodeObject, into a T
// which check, when not nil, vets (it returns what is wrong, or ""). It
// returns the member's JSON as sent too: decoded once, for GetRunRaw. A
// member missing or null, or refused by check, is an ErrMalformedResponse.
func memberOf[T any](c *Client, x *exchange, obj map[string]json.RawMessage, member string, check func(*T) string) (*T, json.RawMessage, error) {
	raw := obj[member]
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

// malformed is the ErrMalformedResponse of a success answer the client
// cannot use, for the reason given.
func (c *Client) malformed(x *exchange, reason string) error {
	return &ResponseError{
		Operation: x.op.name, Method: x.op.method, URL: RedactURL(x.url.String()), StatusCode: x.status,
		Reason: reason, Body: excerpt(x.body, c.knownSecrets()...), kind: ErrMalformedResponse,
	}
}
