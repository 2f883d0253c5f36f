package wrapper

import (
	"errors"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// Redact returns text without the client's credentials: its client secret
// and Options.Secrets, every token it has sent (in any encoding: verbatim,
// percent-encoded, base64, JSON-escaped), and SAS signatures and other
// sensitive parameters or members, each replaced by REDACTED. JSON text
// stays valid JSON. Use it on anything from the API that you print or log
// yourself, such as a raw run object (GetRunRaw).
func (c *Client) Redact(text string) string { return c.scrubber().Redact(text) }

// redactURL redacts a URL (see redact.URL) and the client's known secrets
// in it: a token echoed in a Location never reaches an error or a log.
func (c *Client) redactURL(raw string) string { return c.scrub(redact.URL(raw)) }

// runResult is RunResult with the client's scrubber on the error's text.
func (c *Client) runResult(run *api.ExportRun) error {
	err := RunResult(run)
	if re, ok := err.(*RunError); ok {
		re.redact = c.scrub
	}
	return err
}

// scrubLocation removes the client's known secrets from the Location of a
// *LocationError made without the client (by runIDs); other errors pass.
func (c *Client) scrubLocation(err error) error {
	if err == nil {
		return nil // the usual case, without the allocation errors.As costs
	}
	var le *LocationError
	if errors.As(err, &le) {
		le.Location = c.scrub(le.Location)
	}
	return err
}
