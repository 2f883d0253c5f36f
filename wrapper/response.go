package wrapper

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// apiError builds the *APIError of an error status. The body is decoded as
// the contract's ErrorResponse when it is one; otherwise only the redacted
// excerpt is kept.
func (c *Client) apiError(x *exchange) *APIError {
	e := &APIError{
		Operation:  x.op,
		Method:     x.method,
		URL:        c.redactURL(x.url.String()),
		StatusCode: x.status,
		Body:       excerpt(x.body, c.knownSecrets()...),
		Attempts:   x.attempts,
	}
	if d, ok := retryAfter(x.header, time.Now()); ok {
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
		Operation: x.op, Method: x.method, URL: c.redactURL(x.url.String()), StatusCode: x.status,
		Reason: fmt.Sprintf("status %d is not an answer %s defines", x.status, x.op),
		Body:   excerpt(x.body, c.knownSecrets()...), kind: ErrUnexpectedStatus,
	}
}

// decode parses a success body into v, which must be a pointer to a struct
// whose required members are pointers; check reports a member that is
// missing. Anything else is an ErrMalformedResponse.
func (c *Client) decode(x *exchange, v any, check func() string) error {
	malformed := func(reason string) error {
		return &ResponseError{
			Operation: x.op, Method: x.method, URL: c.redactURL(x.url.String()), StatusCode: x.status,
			Reason: reason, Body: excerpt(x.body, c.knownSecrets()...), kind: ErrMalformedResponse,
		}
	}
	// Unmarshal also refuses data after the JSON value.
	if err := json.Unmarshal(x.body, v); err != nil {
		return malformed("body is not the expected JSON: " + c.scrub(err.Error()))
	}
	if check != nil {
		if missing := check(); missing != "" {
			return malformed(missing)
		}
	}
	return nil
}
