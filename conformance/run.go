package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Outcome is what a client reports after performing a scenario's operation.
type Outcome struct {
	// Result is the class of the outcome, one of Results.
	Result string
	// Location, RunID: the run a createRun or export named.
	Location, RunID string
	// RunResult is the result of the run that was waited for.
	RunResult string
	// Items is how many items a listing yielded before it ended.
	Items int
	// RetryAfterSeconds is the wait a rateLimited error carried.
	RetryAfterSeconds float64
	// Sha256 (hex), Size and FileExists describe a download's destination
	// after the operation.
	Sha256     string
	Size       int64
	FileExists bool
	// Detail is the error's text, for the failure message.
	Detail string
}

// Performer performs an operation with a client configured as cfg says,
// against the API at apiURL.
type Performer func(ctx context.Context, cfg ClientConfig, apiURL string, op Operation) Outcome

// Fake talks to the control API of a running fake.
type Fake struct {
	// Origin is the fake's scheme and host, for example
	// "http://127.0.0.1:8080" (the API is at Origin + "/export").
	Origin string
	// HTTP is the client for control requests; nil means a plain one with a
	// 10 s timeout.
	HTTP *http.Client
}

// call sends a control request and decodes the answer into out (when not
// nil), failing on any status but want.
func (f Fake) call(ctx context.Context, method, path string, body []byte, want int, out any) error {
	hc := f.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, method, f.Origin+"/_fake/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("control %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("control %s: %w", path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("control %s: status %d, want %d: %s", path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control %s: %w", path, err)
		}
	}
	return nil
}

// Run runs one scenario: reset the fake, load its script, perform the
// operation, then compare the outcome and the requests the fake received with
// the expectations. It returns one line per failed expectation; an error
// means the scenario could not be run at all.
func Run(ctx context.Context, fake Fake, sc Scenario, perform Performer) ([]string, error) {
	if err := fake.call(ctx, http.MethodPost, "reset", nil, http.StatusNoContent, nil); err != nil {
		return nil, err
	}
	var loaded struct {
		Variables map[string]string `json:"variables"`
	}
	if err := fake.call(ctx, http.MethodPost, "script", sc.Script, http.StatusOK, &loaded); err != nil {
		return nil, err
	}
	op, exp, err := sc.withVariables(loaded.Variables)
	if err != nil {
		return nil, err
	}
	opCtx, cancel := context.WithTimeout(ctx, time.Duration(sc.Client.TimeoutSeconds*float64(time.Second)))
	got := perform(opCtx, sc.Client, loaded.Variables["apiUrl"], op)
	cancel()
	failures := compare(exp, got)
	var verdict struct {
		OK       bool     `json:"ok"`
		Failures []string `json:"failures"`
	}
	body, _ := json.Marshal(map[string]json.RawMessage{"requests": exp.Requests})
	if err := fake.call(ctx, http.MethodPost, "verify", body, http.StatusOK, &verdict); err != nil {
		return nil, err
	}
	return append(failures, verdict.Failures...), nil
}

// compare returns one line per way got differs from exp.
func compare(exp Expect, got Outcome) []string {
	var failures []string
	if got.Result != exp.Result {
		failures = append(failures, fmt.Sprintf("result %q, want %q (%s)", got.Result, exp.Result, got.Detail))
	}
	if exp.Location != "" && got.Location != exp.Location {
		failures = append(failures, fmt.Sprintf("location %q, want %q", got.Location, exp.Location))
	}
	if exp.RunID != "" && got.RunID != exp.RunID {
		failures = append(failures, fmt.Sprintf("runId %q, want %q", got.RunID, exp.RunID))
	}
	if exp.RunResult != "" && got.RunResult != exp.RunResult {
		failures = append(failures, fmt.Sprintf("run result %q, want %q", got.RunResult, exp.RunResult))
	}
	if exp.Items != nil && got.Items != *exp.Items {
		failures = append(failures, fmt.Sprintf("%d items, want %d", got.Items, *exp.Items))
	}
	if exp.RetryAfterSeconds != nil && got.RetryAfterSeconds != *exp.RetryAfterSeconds {
		failures = append(failures, fmt.Sprintf("retry after %gs, want %gs", got.RetryAfterSeconds, *exp.RetryAfterSeconds))
	}
	return append(failures, compareFile(exp, got)...)
}

// compareFile returns one line per way a download's destination differs
// from exp.
func compareFile(exp Expect, got Outcome) []string {
	var failures []string
	if exp.FileExists != nil && got.FileExists != *exp.FileExists {
		failures = append(failures, fmt.Sprintf("destination exists: %t, want %t", got.FileExists, *exp.FileExists))
	}
	if exp.Sha256 != "" && got.Sha256 != exp.Sha256 {
		failures = append(failures, fmt.Sprintf("content SHA-256 %s, want %s", got.Sha256, exp.Sha256))
	}
	if exp.Size != nil && got.Size != *exp.Size {
		failures = append(failures, fmt.Sprintf("content of %d bytes, want %d", got.Size, *exp.Size))
	}
	return failures
}
