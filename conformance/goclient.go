package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// Token is the bearer token every runner sends; the fake accepts any.
const Token = "conformance-token"

// millis is n milliseconds.
func millis(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// GoClient is the Performer of the Go client (package wrapper). hc, when not
// nil, lends its Transport: a test passes a broken one to prove that the
// scenarios catch a client that misbehaves.
func GoClient(hc *http.Client) Performer {
	return func(ctx context.Context, cfg ClientConfig, apiURL string, op Operation) Outcome {
		c, err := wrapper.New(wrapper.Options{
			BaseURL:     apiURL,
			TokenSource: wrapper.StaticToken(Token),
			HTTPClient:  hc,
			Retry: wrapper.RetryPolicy{
				MaxAttempts:   cfg.MaxAttempts,
				MinBackoff:    millis(cfg.MinBackoffMillis),
				MaxBackoff:    millis(cfg.MaxBackoffMillis),
				MaxRetryAfter: time.Duration(cfg.MaxRetryAfterSeconds * float64(time.Second)),
			},
		})
		if err != nil {
			return Outcome{Result: "clientSetup", Detail: err.Error()}
		}
		if op.Name == "download" {
			return goDownload(ctx, c, cfg, op)
		}
		wait := wrapper.WaitOptions{MinInterval: millis(cfg.PollMinMillis), MaxInterval: millis(cfg.PollMaxMillis)}
		return goOperation(ctx, c, wait, op)
	}
}

// goOperation performs op with c and classifies what happened.
func goOperation(ctx context.Context, c *wrapper.Client, wait wrapper.WaitOptions, op Operation) Outcome {
	var req api.ExportConnectionRunCreate
	if len(op.Request) > 0 {
		if err := json.Unmarshal(op.Request, &req); err != nil {
			return Outcome{Result: "clientSetup", Detail: err.Error()}
		}
	}
	var out Outcome
	var err error
	switch op.Name {
	case "createRun":
		var ref wrapper.RunRef
		ref, err = c.CreateRun(ctx, op.ConnectionID, req)
		out.Location, out.RunID = ref.Location, ref.RunID
		if err == nil && ref.Existing {
			return Outcome{Result: "existing", Location: ref.Location, RunID: ref.RunID}
		}
	case "export":
		var ref wrapper.RunRef
		var run *api.ExportRun
		ref, run, err = c.Export(ctx, op.ConnectionID, req, wait)
		out.Location, out.RunID, out.RunResult = ref.Location, ref.RunID, runResult(run)
	case "getRun", "waitRun":
		var ref wrapper.RunRef
		if ref, err = wrapper.ParseRunRef(op.Location); err != nil {
			break
		}
		var run *api.ExportRun
		if op.Name == "getRun" {
			run, err = c.GetRun(ctx, ref)
		} else {
			run, err = c.WaitRun(ctx, ref, wait)
		}
		out.RunResult = runResult(run)
	case "listRuns":
		out.Items, err = count(c.Runs(ctx, op.ConnectionID))
	case "listConnections":
		out.Items, err = count(c.Connections(ctx, op.IModelID))
	}
	return classified(out, err)
}

// classified sets out's result from err (nil: ok).
func classified(out Outcome, err error) Outcome {
	if err == nil {
		out.Result = "ok"
		return out
	}
	out.Result, out.Detail = Classify(err), err.Error()
	var apiErr *wrapper.APIError
	if errors.As(err, &apiErr) {
		out.RetryAfterSeconds = apiErr.RetryAfter.Seconds()
	}
	return out
}

// goDownload downloads op's file into a new temporary folder and reports
// what its destination holds afterwards.
func goDownload(ctx context.Context, c *wrapper.Client, cfg ClientConfig, op Operation) Outcome {
	dir, err := os.MkdirTemp("", "conformance-download-")
	if err != nil {
		return Outcome{Result: "clientSetup", Detail: err.Error()}
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "downloaded")
	_, err = c.DownloadFile(ctx, op.FileID, path, wrapper.DownloadOptions{MaxResumes: cfg.MaxResumes})
	out := classified(Outcome{}, err)
	out.FileExists, out.Size, out.Sha256 = describeFile(path)
	return out
}

// describeFile tells whether path exists, and its size and SHA-256.
func describeFile(path string) (exists bool, size int64, sum string) {
	f, err := os.Open(path)
	if err != nil {
		return false, 0, ""
	}
	defer f.Close()
	h := sha256.New()
	size, _ = io.Copy(h, f)
	return true, size, hex.EncodeToString(h.Sum(nil))
}

// runResult is the run's result, or "" without one.
func runResult(run *api.ExportRun) string {
	if run == nil || run.Result == "" {
		return ""
	}
	return string(run.Result)
}

// count counts a listing's items up to its first error.
func count[T any](items func(yield func(T, error) bool)) (int, error) {
	n := 0
	for _, err := range items {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// classes map the wrapper's sentinels onto the scenarios' result classes.
var classes = []struct {
	err   error
	class string
}{
	{wrapper.ErrRateLimited, "rateLimited"},
	{wrapper.ErrServer, "server"},
	{wrapper.ErrNotFound, "notFound"},
	{wrapper.ErrConflict, "conflict"},
	{wrapper.ErrUnauthorized, "unauthorized"},
	{wrapper.ErrForbidden, "forbidden"},
	{wrapper.ErrInvalidRequest, "invalidRequest"},
	{wrapper.ErrForeignLocation, "foreignLocation"},
	{wrapper.ErrMissingLocation, "missingLocation"},
	{wrapper.ErrMalformedResponse, "malformed"},
	{wrapper.ErrUnexpectedStatus, "unexpectedStatus"},
	{wrapper.ErrRunFailed, "runFailed"},
	{wrapper.ErrInsecureLink, "insecureLink"},
}

// Classify names the result class of an error of the Go client, with
// errors.Is and errors.As only.
func Classify(err error) string {
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c.class
		}
	}
	var te *wrapper.TransportError
	if errors.As(err, &te) {
		return "transport"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "unclassified"
}
