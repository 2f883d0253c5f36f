package apitest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// controlCall makes one control API request, with no token.
func controlCall(t *testing.T, s *apitest.Server, method, path, body string) response {
	t.Helper()
	origin := strings.TrimSuffix(s.URL, "/export")
	return callWith(t, method, origin+path, body, nil)
}

// TestControlOffAnswers404: without Options.Control the reserved path is
// an ordinary unknown route, before authentication, and scripts nothing.
func TestControlOffAnswers404(t *testing.T) {
	s := newServer(t, apitest.Options{})
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/_fake/info"}, {http.MethodPost, "/_fake/reset"}, {http.MethodGet, "/_fake/requests"},
		{http.MethodPost, "/_fake/script"}, {http.MethodPost, "/_fake/verify"}, {http.MethodGet, "/_fake"},
	} {
		wantError(t, controlCall(t, s, c.method, c.path, `{}`), http.StatusNotFound, "NotFound", "The requested resource does not exist.")
	}
	if got := len(s.Requests()); got != 0 {
		t.Errorf("the API recorded %d control requests, want 0", got)
	}
}

// info is the answer of GET /_fake/info.
type info struct {
	APIURL        string `json:"apiUrl"`
	APIOrigin     string `json:"apiOrigin"`
	ForeignOrigin string `json:"foreignOrigin"`
}

// verdict is the answer of POST /_fake/verify.
type verdict struct {
	OK       bool     `json:"ok"`
	Failures []string `json:"failures"`
}

// playScript starts a server with its control API, loads a script (a 409,
// then a 202 to the foreign origin, then the fake's own 303), sends the
// three creates and follows the foreign Location with a token, checking
// each answer. It returns the server and the script's variables.
func playScript(t *testing.T) (*apitest.Server, map[string]string) {
	t.Helper()
	s := newServer(t, apitest.Options{Control: true})
	in := decode[info](t, controlCall(t, s, http.MethodGet, "/_fake/info", ""))
	if in.APIURL != s.URL || in.ForeignOrigin == "" || in.ForeignOrigin == in.APIOrigin {
		t.Fatalf("info = %+v (server %s)", in, s.URL)
	}
	r := controlCall(t, s, http.MethodPost, "/_fake/script", `{
		"clock": {"rate": 0},
		"connections": [{"name": "conn", "iModelId": "m", "activeRun": "run"}],
		"answers": [{"method": "POST", "path": "/export/connections/{conn}/runs", "status": 409},
		            {"method": "POST", "path": "/export/connections/*/runs", "status": 202, "body": "empty",
		             "headers": {"Location": "{foreignOrigin}/export/connections/{conn}/runs/x"}}]}`)
	vars := decode[struct{ Variables map[string]string }](t, r).Variables
	if r.status != http.StatusOK || vars["conn"] == "" || vars["run"] == "" || vars["foreignOrigin"] != in.ForeignOrigin {
		t.Fatalf("script: %d %s", r.status, r.body)
	}
	runs := s.URL + "/connections/" + vars["conn"] + "/runs"
	wantError(t, call(t, http.MethodPost, runs, `{"exportType":"IFC"}`), http.StatusConflict, "Conflict", "409 Conflict.")
	second := call(t, http.MethodPost, runs, `{"exportType":"IFC"}`)
	if want := in.ForeignOrigin + "/export/connections/" + vars["conn"] + "/runs/x"; second.status != http.StatusAccepted || second.header.Get("Location") != want {
		t.Errorf("second answer %d Location %q, want 202 %q", second.status, second.header.Get("Location"), want)
	}
	// The fake's own answer now: its run is active (the clock stands still).
	third := call(t, http.MethodPost, runs, `{"exportType":"IFC"}`)
	if third.status != http.StatusSeeOther || !strings.HasSuffix(third.header.Get("Location"), "/runs/"+vars["run"]) {
		t.Errorf("third answer %d %q, want 303 to the active run", third.status, third.header.Get("Location"))
	}
	foreign := callWith(t, http.MethodGet, second.header.Get("Location"), "", map[string]string{"Authorization": "Bearer leaked-token"})
	if foreign.status != http.StatusOK || decode[api.ExportRunResponse](t, foreign).Run.State == "" {
		t.Errorf("foreign origin: %d %s, want a run", foreign.status, foreign.body)
	}
	return s, vars
}

// verify posts expectations to /_fake/verify.
func verify(t *testing.T, s *apitest.Server, expectations string) verdict {
	t.Helper()
	return decode[verdict](t, controlCall(t, s, http.MethodPost, "/_fake/verify", `{"requests": `+expectations+`}`))
}

func TestControlVerify(t *testing.T) {
	s, vars := playScript(t)
	if v := verify(t, s, `[{"method": "POST", "path": "/export/connections/*/runs", "count": 3, "headers": {"Authorization": "present"}},
		{"method": "GET", "count": 0}, {"origin": "foreign", "count": 1}, {"origin": "any", "min": 4, "max": 4},
		{"origin": "any", "withHeaders": {"Authorization": "present", "Content-Type": "absent"}, "count": 1}]`); !v.OK {
		t.Errorf("verify: %v", v.Failures)
	}
	want := []string{
		"POST * on api: saw 3 requests, want 1",
		"* * on foreign: request 1 (GET /export/connections/" + vars["conn"] + "/runs/x): header Authorization is not absent",
		"* * on foreign: saw 1 requests, want 0",
		"POST * on api: request 2 came ",
		"POST * on api: request 3 came ",
		"* * on elsewhere: origin \"elsewhere\" is not api, foreign, blob or any",
	}
	v := verify(t, s, `[{"method": "POST", "count": 1}, {"origin": "foreign", "count": 0, "headers": {"Authorization": "absent"}},
		{"method": "POST", "minIntervalMillis": 60000}, {"origin": "elsewhere"}]`)
	if v.OK || len(v.Failures) != len(want) {
		t.Fatalf("verify = %+v, want %d failures", v, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(v.Failures[i], w) {
			t.Errorf("failure %d = %q, want it to start with %q", i, v.Failures[i], w)
		}
	}
}

// TestControlRequestsAndReset: the requests read back are the ones sent,
// per origin, credentials shown by their scheme only; reset forgets them
// with everything else.
func TestControlRequestsAndReset(t *testing.T) {
	s, vars := playScript(t)
	body := controlCall(t, s, http.MethodGet, "/_fake/requests", "")
	if strings.Contains(string(body.body), token) || strings.Contains(string(body.body), "leaked-token") ||
		!strings.Contains(string(body.body), `"Bearer REDACTED"`) {
		t.Errorf("requests leak or lose the credential:\n%s", body.body)
	}
	var recs struct {
		Requests []struct{ Origin, Method, Path string }
		Dropped  int
	}
	if err := json.Unmarshal(body.body, &recs); err != nil {
		t.Fatal(err)
	}
	runs := "/export/connections/" + vars["conn"] + "/runs"
	wantRecs := []struct{ Origin, Method, Path string }{
		{"api", "POST", runs}, {"api", "POST", runs}, {"api", "POST", runs}, {"foreign", "GET", runs + "/x"},
	}
	if diff := cmp.Diff(wantRecs, recs.Requests); diff != "" || recs.Dropped != 0 {
		t.Errorf("requests (-want +got):\n%s (dropped %d)", diff, recs.Dropped)
	}
	if r := controlCall(t, s, http.MethodPost, "/_fake/reset", ""); r.status != http.StatusNoContent {
		t.Fatalf("reset: %d", r.status)
	}
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/"+vars["conn"]+"/runs", ""), http.StatusNotFound,
		"ConnectionNotFound", "Requested Connection is not available.")
	if v := verify(t, s, `[{"origin": "any", "count": 1}]`); !v.OK {
		t.Errorf("after reset: %v", v.Failures)
	}
}

// TestControlClockAndOutcomes: a script's clock rate moves runs, and a
// connection's outcome ends them; completed runs page like any others.
func TestControlClockAndOutcomes(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Control: true, Clock: clock, StepDuration: time.Second})
	r := controlCall(t, s, http.MethodPost, "/_fake/script", `{"clock": {"rate": 0},
		"connections": [{"name": "c", "iModelId": "m", "outcome": "Error", "completedRuns": 3, "activeRun": "a"}]}`)
	vars := decode[struct{ Variables map[string]string }](t, r).Variables
	runURL := s.URL + "/connections/" + vars["c"] + "/runs/" + vars["a"]
	state := func() (api.ExecutionState, api.ExecutionResult) {
		run := decode[api.ExportRunResponse](t, call(t, http.MethodGet, runURL, "")).Run
		return run.State, run.Result
	}
	clock.Advance(time.Hour)
	if st, _ := state(); st != api.ExecutionStateNotStarted {
		t.Errorf("frozen clock: state %s, want NotStarted", st)
	}
	controlCall(t, s, http.MethodPost, "/_fake/script", `{"clock": {"advanceSeconds": 10}}`)
	if st, res := state(); st != api.ExecutionStateCompleted || res != api.ExecutionResultError {
		t.Errorf("after 10s: %s %s, want Completed Error", st, res)
	}
	list := decode[api.ExportRunsResponse](t, call(t, http.MethodGet, s.URL+"/connections/"+vars["c"]+"/runs?$top=2", ""))
	if len(list.Runs) != 2 || list.Links.Next == nil {
		t.Errorf("runs page: %d runs, next %v; want 2 and a next link", len(list.Runs), list.Links.Next)
	}
}

func TestControlRefusesBadScripts(t *testing.T) {
	s := newServer(t, apitest.Options{Control: true})
	for _, body := range []string{
		`{"answers": [{"status": 42}]}`,
		`{"answers": [{"body": "xml"}]}`,
		`{"answers": [{"kind": "explode"}]}`,
		`{"answers": [{"body": "json"}]}`,
		`{"connections": [{"iModelId": "m", "outcome": "Maybe"}]}`,
		`{"connections": [{"count": 2}]}`,
		`{"clock": {"rate": -1}}`,
		`{"unknown": true}`,
		`not json`,
	} {
		r := controlCall(t, s, http.MethodPost, "/_fake/script", body)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "InvalidControlRequest") {
			t.Errorf("%s: %d %s, want 400 InvalidControlRequest", body, r.status, r.body)
		}
	}
	if r := controlCall(t, s, http.MethodGet, "/_fake/nothing", ""); r.status != http.StatusNotFound {
		t.Errorf("unknown control path: %d, want 404", r.status)
	}
}

// TestControlFilesAndBlobFaults: a script stores a file (its id, size and
// SHA-256 as variables) and spoils its next transfer; the blob origin's
// requests are verified like the others, listed without their signed query,
// and forgotten by reset.
func TestControlFilesAndBlobFaults(t *testing.T) {
	s := newServer(t, apitest.Options{Control: true})
	r := controlCall(t, s, http.MethodPost, "/_fake/script", `{"files": [{"name": "f", "displayName": "a.ifc", "size": 3}],
		"blobFaults": [{"fileId": "{f}", "kind": "expired"}]}`)
	vars := decode[struct{ Variables map[string]string }](t, r).Variables
	// PatternByte(0..2) = 0, 7, 14.
	sum := sha256.Sum256([]byte{0, 7, 14})
	if vars["fSize"] != "3" || vars["fSha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("variables %v", vars)
	}
	link := call(t, http.MethodGet, strings.TrimSuffix(s.URL, "/export")+"/storage/files/"+vars["f"]+"/download", "")
	if link.status != http.StatusFound {
		t.Fatalf("download: %d %s", link.status, link.body)
	}
	for _, want := range []int{http.StatusForbidden, http.StatusOK} {
		if got := callWith(t, http.MethodGet, link.header.Get("Location"), "", nil); got.status != want {
			t.Errorf("blob: %d, want %d", got.status, want)
		}
	}
	if v := verify(t, s, `[{"origin": "blob", "method": "GET", "path": "/exports/*/a.ifc", "count": 2, "headers": {"Authorization": "absent"}},
		{"method": "GET", "path": "/storage/files/*/download", "count": 1, "headers": {"Authorization": "present"}}]`); !v.OK {
		t.Errorf("verify: %v", v.Failures)
	}
	if body := controlCall(t, s, http.MethodGet, "/_fake/requests", ""); strings.Contains(string(body.body), "sig=") {
		t.Errorf("requests show the link's signature:\n%s", body.body)
	}
	controlCall(t, s, http.MethodPost, "/_fake/reset", "")
	if v := verify(t, s, `[{"origin": "any", "count": 0}]`); !v.OK {
		t.Errorf("after reset: %v", v.Failures)
	}
}

// TestScriptFilesAreBounded: a script with more than 16 files, or files of
// more than 128 MiB together, is answered 400 and loads nothing.
func TestScriptFilesAreBounded(t *testing.T) {
	s := newServer(t, apitest.Options{Control: true})
	file := func(n int, size int64) string {
		return fmt.Sprintf(`{"name":"f%d","displayName":"f%d.ifc","size":%d}`, n, n, size)
	}
	var many, big []string
	for n := range 17 {
		many = append(many, file(n, 1))
	}
	for n := range 3 {
		big = append(big, file(n, 64<<20))
	}
	for body, msg := range map[string]string{
		`{"connections":[{"iModelId":"m"}],"files":[` + strings.Join(many, ",") + `]}`: "The script is not valid: files holds 17 files, more than 16",
		`{"connections":[{"iModelId":"m"}],"files":[` + strings.Join(big, ",") + `]}`:  "The script is not valid: files total more than 134217728 bytes",
	} {
		wantError(t, controlCall(t, s, http.MethodPost, "/_fake/script", body), http.StatusBadRequest, "InvalidControlRequest", msg)
	}
	ok := controlCall(t, s, http.MethodPost, "/_fake/script", `{"files":[`+strings.Join(big[:2], ",")+`]}`)
	if ok.status != http.StatusOK {
		t.Errorf("two files of 64 MiB: %d %s, want 200", ok.status, ok.body)
	}
}
