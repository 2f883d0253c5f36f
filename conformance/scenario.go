// Package conformance runs the language-neutral scenarios of
// conformance/scenarios against a client: each scenario scripts the fake
// (apitest with its control API on, or `itwin-export fake-server --control`),
// has the client perform one operation, and checks the result class the
// client reports and the requests the fake received.
//
// The scenario files are the specification; this package is the Go runner
// (used by conformance_test.go with the wrapper), and
// bindings/typescript/test holds the TypeScript one. BINDINGS.md says how to
// write a runner for another binding.
package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Scenario is one file of conformance/scenarios.
type Scenario struct {
	// Name is the file's name without .json; it names the subtest.
	Name string `json:"name"`
	// Description says what the scenario proves, for a binding author.
	Description string `json:"description"`
	// Client is how every binding configures its client for the scenario.
	Client ClientConfig `json:"client"`
	// Script is the body of POST /_fake/script, loaded after a reset.
	Script json.RawMessage `json:"script"`
	// Operation is what the client does, with {variables} from the script.
	Operation Operation `json:"operation"`
	// Expect is what must be observed, with {variables} from the script.
	Expect Expect `json:"expect"`
}

// ClientConfig holds the caps and waits a scenario depends on; a binding
// sets its client up with exactly these.
type ClientConfig struct {
	// MaxAttempts is how many times one call sends its request at most.
	MaxAttempts int `json:"maxAttempts"`
	// MaxRetryAfterSeconds caps a Retry-After the client sleeps on; a longer
	// one returns the rateLimited error at once.
	MaxRetryAfterSeconds float64 `json:"maxRetryAfterSeconds"`
	// MinBackoffMillis and MaxBackoffMillis bound the backoff when the answer
	// names no Retry-After.
	MinBackoffMillis int `json:"minBackoffMillis"`
	MaxBackoffMillis int `json:"maxBackoffMillis"`
	// PollMinMillis and PollMaxMillis bound the wait between polls of a run.
	PollMinMillis int `json:"pollMinMillis"`
	PollMaxMillis int `json:"pollMaxMillis"`
	// TimeoutSeconds bounds the whole operation.
	TimeoutSeconds float64 `json:"timeoutSeconds"`
	// MaxResumes bounds how many times a cut download is resumed with Range.
	MaxResumes int `json:"maxResumes,omitempty"`
}

// Operation is what the client does.
type Operation struct {
	// Name is createRun, getRun, waitRun, export (create, then wait),
	// listRuns, listConnections or download (a Storage file to a new local
	// file).
	Name string `json:"name"`
	// ConnectionID for createRun, export and listRuns.
	ConnectionID string `json:"connectionId,omitempty"`
	// IModelID for listConnections.
	IModelID string `json:"iModelId,omitempty"`
	// Location is the run's absolute URL for getRun and waitRun.
	Location string `json:"location,omitempty"`
	// Request is the create-run body for createRun and export.
	Request json.RawMessage `json:"request,omitempty"`
	// FileID is the Storage file for download.
	FileID string `json:"fileId,omitempty"`
}

// Expect is what a scenario must observe.
type Expect struct {
	// Result is the class of the outcome; see Results.
	Result string `json:"result"`
	// Location, RunID and Existing are checked on a created run when set.
	Location string `json:"location,omitempty"`
	RunID    string `json:"runId,omitempty"`
	// RunResult is the run's result after waiting (runFailed or ok).
	RunResult string `json:"runResult,omitempty"`
	// Items is how many items a listing yields.
	Items *int `json:"items,omitempty"`
	// RetryAfterSeconds is the wait a rateLimited error carries.
	RetryAfterSeconds *float64 `json:"retryAfterSeconds,omitempty"`
	// Sha256 (hex) and Size are the downloaded file's content, when set.
	Sha256 string `json:"sha256,omitempty"`
	Size   *int64 `json:"size,omitempty"`
	// FileExists says whether the download's destination exists afterwards:
	// a failed download leaves nothing under the final name.
	FileExists *bool `json:"fileExists,omitempty"`
	// Requests is the body's "requests" of POST /_fake/verify.
	Requests json.RawMessage `json:"requests"`
}

// Results are the result classes a scenario may expect. "ok" is success
// (a created run for createRun); every other is the class of an error.
var Results = []string{
	"ok", "existing", "rateLimited", "server", "notFound", "conflict", "unauthorized", "forbidden",
	"invalidRequest", "foreignLocation", "missingLocation", "malformed", "unexpectedStatus",
	"runFailed", "transport", "timeout", "insecureLink",
}

// Operations are the operation names a scenario may use.
var Operations = []string{"createRun", "getRun", "waitRun", "export", "listRuns", "listConnections", "download"}

// Load reads every *.json file of dir, in name order, and checks that each
// is a complete scenario whose name is its file name.
func Load(dir string) ([]Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("conformance: no scenario in %s", dir)
	}
	var out []Scenario
	for _, f := range files {
		sc, err := loadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// loadFile reads and checks one scenario.
func loadFile(file string) (Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Scenario{}, err
	}
	var sc Scenario
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("conformance: %s: %w", file, err)
	}
	base := strings.TrimSuffix(filepath.Base(file), ".json")
	switch {
	case sc.Name != base:
		return Scenario{}, fmt.Errorf("conformance: %s: name %q is not the file's name", file, sc.Name)
	case sc.Description == "":
		return Scenario{}, fmt.Errorf("conformance: %s: no description", file)
	case !slices.Contains(Operations, sc.Operation.Name):
		return Scenario{}, fmt.Errorf("conformance: %s: operation %q is not one of %v", file, sc.Operation.Name, Operations)
	case !slices.Contains(Results, sc.Expect.Result):
		return Scenario{}, fmt.Errorf("conformance: %s: result %q is not one of %v", file, sc.Expect.Result, Results)
	case len(sc.Expect.Requests) == 0:
		return Scenario{}, fmt.Errorf("conformance: %s: expect.requests is empty: say which requests the fake must see", file)
	case sc.Client.MaxAttempts < 1 || sc.Client.MaxRetryAfterSeconds <= 0 || sc.Client.TimeoutSeconds <= 0:
		return Scenario{}, fmt.Errorf("conformance: %s: client needs maxAttempts, maxRetryAfterSeconds and timeoutSeconds", file)
	}
	return sc, nil
}

// withVariables returns the scenario's operation and expectations with every
// {name} of vars replaced, as JSON text is: the values are escaped for a
// JSON string.
func (sc Scenario) withVariables(vars map[string]string) (Operation, Expect, error) {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		q, _ := json.Marshal(v)
		pairs = append(pairs, "{"+k+"}", string(q[1:len(q)-1]))
	}
	r := strings.NewReplacer(pairs...)
	var op Operation
	var exp Expect
	for _, x := range []struct {
		in  any
		out any
	}{{sc.Operation, &op}, {sc.Expect, &exp}} {
		data, err := json.Marshal(x.in)
		if err != nil {
			return Operation{}, Expect{}, err
		}
		if err := json.Unmarshal([]byte(r.Replace(string(data))), x.out); err != nil {
			return Operation{}, Expect{}, fmt.Errorf("scenario %s with its variables: %w", sc.Name, err)
		}
	}
	return op, exp, nil
}
