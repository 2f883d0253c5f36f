package apitest_test

import (
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// referenceTaskError is the task error of the run example on the reference
// pages, verbatim.
const referenceTaskError = `{ "errorCode": "TAE_BRW_1000", "message": "Failed to orchestrate file processing.", "details": "Error exit code received from bridge wrapper. Details from wrapper: ''.", "bridgeExitCode": -7002, "system": "Exporter", "phase": "export_file", "category": "other", "descriptionKey": "FailedToExport", "description": "Failed to export your file.", "kbArticleLink": "", "canUserFix": false }`

func TestCreateRunInvalidBody(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := addConnection(s, "m1")
	for _, tc := range []struct {
		name, body string
		want       []api.ErrorDetails
	}{
		{"malformed JSON", `{"exportType":"IFC"`, []api.ErrorDetails{
			d("InvalidRequestBody", "Request body is not valid JSON.", "")}},
		{"empty body", ``, []api.ErrorDetails{
			d("InvalidRequestBody", "Request body is not valid JSON.", "")}},
		{"not an object", `"IFC"`, []api.ErrorDetails{
			d("InvalidRequestBody", "Request body must be a JSON object.", "")}},
		{"missing exportType", `{"ifcVersion":"IFC2x3"}`, []api.ErrorDetails{
			d("MissingRequiredParameter", "exportType was not provided.", "exportType")}},
		{"enums", `{"exportType":"DWG","ifcVersion":"IFC5","outputOptions":{"location":"DISK"}}`, []api.ErrorDetails{
			d("InvalidValue", "Provided exportType value is not valid; expected one of IFC, PDF.", "exportType"),
			d("InvalidValue", "Provided ifcVersion value is not valid; expected one of IFC4.3, IFC2x3, IFC2x3 CV 2.0, IFC4 RV 1.2.", "ifcVersion"),
			d("InvalidValue", "Provided outputOptions.location value is not valid; expected one of USER_BLOB_STORAGE, STORAGE.", "outputOptions.location"),
		}},
		{"unknown properties at every level", `{"exportType":"IFC","zeta":1,"alpha":true,"inputOptions":{"foo":"x"},"outputOptions":{"bar":null}}`, []api.ErrorDetails{
			d("UnknownProperty", "inputOptions.foo is not a known property.", "inputOptions.foo"),
			d("UnknownProperty", "outputOptions.bar is not a known property.", "outputOptions.bar"),
			d("UnknownProperty", "alpha is not a known property.", "alpha"),
			d("UnknownProperty", "zeta is not a known property.", "zeta"),
		}},
		{"wrong types", `{"exportType":1,"ifcVersion":null,"inputOptions":[],"outputOptions":{"saveLogs":"yes","replaceOlderFile":1,"folderId":false}}`, []api.ErrorDetails{
			d("InvalidValue", "exportType must be a string.", "exportType"),
			d("InvalidValue", "ifcVersion must be a string.", "ifcVersion"),
			d("InvalidValue", "inputOptions must be an object.", "inputOptions"),
			d("InvalidValue", "outputOptions.folderId must be a string.", "outputOptions.folderId"),
			d("InvalidValue", "outputOptions.replaceOlderFile must be a boolean.", "outputOptions.replaceOlderFile"),
			d("InvalidValue", "outputOptions.saveLogs must be a boolean.", "outputOptions.saveLogs"),
		}},
		{"empty modelIds", `{"exportType":"PDF","inputOptions":{"modelIds":[]}}`, []api.ErrorDetails{
			d("InvalidValue", "inputOptions.modelIds must not be empty.", "inputOptions.modelIds")}},
		{"modelIds of the wrong type", `{"exportType":"PDF","inputOptions":{"changesetId":7,"modelIds":["0x1",2]}}`, []api.ErrorDetails{
			d("InvalidValue", "inputOptions.changesetId must be a string.", "inputOptions.changesetId"),
			d("InvalidValue", "inputOptions.modelIds[1] must be a string.", "inputOptions.modelIds[1]"),
		}},
		{"over 1 MiB", `{"exportType":"IFC","inputOptions":{"changesetId":"` + strings.Repeat("0", 1<<20) + `"}}`, []api.ErrorDetails{
			d("InvalidRequestBody", "Request body is larger than 1 MiB.", "")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodPost, s.URL+"/connections/"+id+"/runs", tc.body)
			wantError(t, r, http.StatusUnprocessableEntity, "InvalidConnectionRunRequest", "Cannot perform operation.", tc.want...)
		})
	}
	if n := s.RunCount(id); n != 0 {
		t.Errorf("RunCount = %d after invalid requests", n)
	}
}

func TestCreateRunAcceptsTheReferenceExample(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := addConnection(s, "m1")
	body := `{ "exportType": "IFC", "ifcVersion": "IFC4.3", "inputOptions": { "mappingFileId": "0000000000000000000000000000000000000000", "changesetId": "0000000000000000000000000000000000000000", "savedViewId": "0000000000000000000000000000000000000000", "mappingfileBlobUrl": "https://example.com" }, "outputOptions": { "location": "USER_BLOB_STORAGE", "outputSasUrl": "https://abc.com", "logsSasUrl": "https://abc.com", "folderId": "0000000000000000000000000000000000000000", "replaceOlderFile": true, "saveLogs": true } }`
	if r := call(t, http.MethodPost, s.URL+"/connections/"+id+"/runs", body); r.status != http.StatusAccepted {
		t.Errorf("status %d, body %s", r.status, r.body)
	}
	id2 := addConnection(s, "m2")
	if r := call(t, http.MethodPost, s.URL+"/connections/"+id2+"/runs", `{"exportType":"PDF","inputOptions":{"modelIds":["0x20000000001"]}}`); r.status != http.StatusAccepted {
		t.Errorf("PDF with modelIds: status %d, body %s", r.status, r.body)
	}
}

func TestCreateRunUnknownConnection(t *testing.T) {
	s := newServer(t, apitest.Options{})
	wantError(t, createRun(t, s, "nope"), http.StatusNotFound, "ConnectionNotFound", "Requested Connection is not available.")
}

func TestCreateRunLocation(t *testing.T) {
	for _, absolute := range []bool{false, true} {
		s := newServer(t, apitest.Options{AbsoluteLocation: absolute})
		id := addConnection(s, "m1")
		r := createRun(t, s, id)
		if r.status != http.StatusAccepted || len(r.body) != 0 {
			t.Fatalf("status %d, body %q; want 202 and no body", r.status, r.body)
		}
		location := r.header.Get("Location")
		runID := path.Base(location)
		want := "/export/connections/" + id + "/runs/" + runID
		if absolute {
			want = strings.TrimSuffix(s.URL, "/export") + want
		}
		if location != want || !hexID.MatchString(runID) {
			t.Errorf("absolute %v: Location = %q, want %q with a 32-hex run id", absolute, location, want)
		}
		if n := s.RunCount(id); n != 1 {
			t.Errorf("RunCount = %d", n)
		}
	}
}

func TestCreateRunSeeOtherWhileActive(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock})
	id := addConnection(s, "m1")
	first := createRun(t, s, id)
	clock.Advance(4 * time.Second) // Finalizing
	again := createRun(t, s, id)
	if again.status != http.StatusSeeOther || len(again.body) != 0 {
		t.Errorf("second create: status %d, body %q; want 303 and no body", again.status, again.body)
	}
	if got, want := again.header.Get("Location"), first.header.Get("Location"); got != want {
		t.Errorf("303 Location = %q, want the active run %q", got, want)
	}
	clock.Advance(time.Second) // Completed: the next create makes a new run
	third := createRun(t, s, id)
	if third.status != http.StatusAccepted || third.header.Get("Location") == first.header.Get("Location") {
		t.Errorf("create after completion: %d %q", third.status, third.header.Get("Location"))
	}
	if n := s.RunCount(id); n != 2 {
		t.Errorf("RunCount = %d, want 2", n)
	}
}

// TestOneActiveRunPerIModel: the API keeps one active run per iModel, so a
// create through another connection of the iModel answers 303 to the run
// the first connection started (409 while that create is being processed);
// another iModel is not held up.
func TestOneActiveRunPerIModel(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, ProcessingWindow: 2 * time.Second})
	a, b, other := addConnection(s, "m1"), addConnection(s, "m1"), addConnection(s, "m2")
	first := createRun(t, s, a)
	if first.status != http.StatusAccepted || !strings.HasPrefix(first.header.Get("Location"), "/export/connections/"+a+"/runs/") {
		t.Fatalf("first create: %d %q", first.status, first.header.Get("Location"))
	}
	wantError(t, createRun(t, s, b), http.StatusConflict, "ConflictWithAnotherIModelRequest", "This request is already being processed for this iModel.")
	if r := createRun(t, s, other); r.status != http.StatusAccepted {
		t.Errorf("create for another iModel: %d, want 202", r.status)
	}
	clock.Advance(2 * time.Second) // the processing window is over; the run is active
	again := createRun(t, s, b)
	if again.status != http.StatusSeeOther || again.header.Get("Location") != first.header.Get("Location") {
		t.Errorf("create through the second connection: %d %q; want 303 to %q", again.status, again.header.Get("Location"), first.header.Get("Location"))
	}
	clock.Advance(3 * time.Second) // Completed
	third := createRun(t, s, b)
	if third.status != http.StatusAccepted || !strings.HasPrefix(third.header.Get("Location"), "/export/connections/"+b+"/runs/") {
		t.Errorf("create after completion: %d %q; want 202 with a run of %s", third.status, third.header.Get("Location"), b)
	}
	got := map[string]int{"a": s.RunCount(a), "b": s.RunCount(b), "other": s.RunCount(other)}
	if d := cmp.Diff(map[string]int{"a": 1, "b": 1, "other": 1}, got); d != "" {
		t.Errorf("RunCount (-want +got):\n%s", d)
	}
}

// progressionCase is one outcome a run can be given, and what the completed
// run then shows.
type progressionCase struct {
	name                string
	outcome             apitest.Outcome
	viaDefault          bool
	result, taskResult  api.ExecutionResult
	withFile, withError bool
}

// progressionStep is how long each state of a run lasts in TestRunProgression.
const progressionStep = 30 * time.Second

func TestRunProgression(t *testing.T) {
	var refErr api.TaskError
	if err := json.Unmarshal([]byte(referenceTaskError), &refErr); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []progressionCase{
		{"success", apitest.OutcomeSuccess, false, api.ExecutionResultSuccess, api.ExecutionResultSuccess, true, false},
		{"partial success", apitest.OutcomePartialSuccess, false, api.ExecutionResultPartialSuccess, api.ExecutionResultSuccess, true, true},
		{"error", apitest.OutcomeError, false, api.ExecutionResultError, api.ExecutionResultError, false, true},
		{"error by default", apitest.OutcomeError, true, api.ExecutionResultError, api.ExecutionResultError, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { checkProgression(t, tc, &refErr) })
	}
}

// checkProgression starts a run with tc's outcome, set for the connection or
// as the server's default, and compares the run read at every step, from
// NotStarted to Completed, with the run wanted in that state.
func checkProgression(t *testing.T, tc progressionCase, refErr *api.TaskError) {
	t.Helper()
	clock := apitest.NewManualClock(start)
	opts := apitest.Options{Clock: clock, StepDuration: progressionStep}
	if tc.viaDefault {
		opts.DefaultOutcome = tc.outcome
	}
	s := newServer(t, opts)
	id := addConnection(s, "m1")
	if !tc.viaDefault {
		s.SetOutcome(id, tc.outcome)
	}
	runURL := strings.TrimSuffix(s.URL, "/export") + createRun(t, s, id).header.Get("Location")

	states := []api.ExecutionState{
		api.ExecutionStateNotStarted, api.ExecutionStateQueued, api.ExecutionStateWaitingToExecute,
		api.ExecutionStateExecuting, api.ExecutionStateFinalizing, api.ExecutionStateCompleted,
	}
	for i, state := range states {
		r := call(t, http.MethodGet, runURL, "")
		if r.status != http.StatusOK {
			t.Fatalf("step %d: status %d", i, r.status)
		}
		got := decode[api.ExportRunResponse](t, r).Run
		want := wantRunIn(t, tc, refErr, id, state, got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after %d steps (-want +got):\n%s", i, diff)
		}
		clock.Advance(progressionStep)
	}
}

// wantRunIn is the run of connection id that tc's run must be in state. The
// ids the server chose, and the output file id once completed, come from got
// after checking their form: 32 hex digits, a GUID.
func wantRunIn(t *testing.T, tc progressionCase, refErr *api.TaskError, id string, state api.ExecutionState, got api.ExportRun) api.ExportRun {
	t.Helper()
	job := got.Jobs[0]
	task := job.Tasks[0]
	if !hexID.MatchString(got.ID) || !hexID.MatchString(job.ID) || !hexID.MatchString(task.ID) {
		t.Errorf("ids are not 32 hex: run %s job %s task %s", got.ID, job.ID, task.ID)
	}
	result, taskResult := api.ExecutionResultUndetermined, api.ExecutionResultUndetermined
	var end *time.Time
	wantTask := api.ExportTask{ID: task.ID, StartDateTime: &start, RetryAttempts: ptr(int32(0)), State: state}
	if state == api.ExecutionStateCompleted {
		result, taskResult = tc.result, tc.taskResult
		end = ptr(start.Add(5 * progressionStep))
		wantTask.EndDateTime = end
		if tc.withFile {
			if !guidID.MatchString(task.ExportOutputFileID) {
				t.Errorf("exportOutputFileId = %v, want a GUID", task.ExportOutputFileID)
			}
			wantTask.ExportOutputFileID = task.ExportOutputFileID
		}
		if tc.withError {
			wantTask.Error = refErr
		}
	}
	wantTask.Result = taskResult
	return api.ExportRun{
		ID:            got.ID,
		ConnectionID:  id,
		StartDateTime: &start,
		EndDateTime:   end,
		State:         state,
		Result:        result,
		Jobs: []api.ExportJob{{
			ID:            job.ID,
			StartDateTime: &start,
			EndDateTime:   end,
			State:         state,
			Result:        result,
			Tasks:         []api.ExportTask{wantTask},
		}},
	}
}

func TestRunsListPaging(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock})
	id := addConnection(s, "m1")
	var want []string
	for range 5 {
		want = append(want, path.Base(createRun(t, s, id).header.Get("Location")))
		clock.Advance(time.Minute)
	}
	base := s.URL + "/connections/" + id + "/runs?"
	var got []string
	var pages []api.PagingLinks
	for next := base + "$top=2"; next != ""; {
		page := decode[api.ExportRunsResponse](t, call(t, http.MethodGet, next, ""))
		for _, r := range page.Runs {
			if r.State != api.ExecutionStateCompleted || r.ConnectionID != id {
				t.Errorf("run %s: state %s, connection %s", r.ID, r.State, r.ConnectionID)
			}
			got = append(got, r.ID)
		}
		pages = append(pages, *page.Links)
		next = ""
		if page.Links.Next != nil {
			next = page.Links.Next.Href
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs, oldest first (-want +got):\n%s", diff)
	}
	link := func(skip string) *api.Link { return &api.Link{Href: base + "$skip=" + skip + "&$top=2"} }
	if diff := cmp.Diff([]api.PagingLinks{
		{Self: link("0"), Next: link("2")},
		{Self: link("2"), Prev: link("0"), Next: link("4")},
		{Self: link("4"), Prev: link("2")},
	}, pages); diff != "" {
		t.Errorf("paging links (-want +got):\n%s", diff)
	}

	empty := decode[api.ExportRunsResponse](t, call(t, http.MethodGet, s.URL+"/connections/"+addConnection(s, "m2")+"/runs", ""))
	if empty.Runs == nil || len(empty.Runs) != 0 || empty.Links.Next != nil {
		t.Errorf("runs of a new connection: %+v", empty)
	}
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/nope/runs", ""),
		http.StatusNotFound, "ConnectionNotFound", "Requested Connection is not available.")
}

func TestGetRunNotFound(t *testing.T) {
	s := newServer(t, apitest.Options{})
	a, b := addConnection(s, "m1"), addConnection(s, "m2")
	runOfB := path.Base(createRun(t, s, b).header.Get("Location"))
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/"+a+"/runs/"+runOfB, ""),
		http.StatusNotFound, "RunNotFound", "Requested Run is not available.")
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/"+a+"/runs/0123", ""),
		http.StatusNotFound, "RunNotFound", "Requested Run is not available.")
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/nope/runs/"+runOfB, ""),
		http.StatusNotFound, "ConnectionNotFound", "Requested Connection is not available.")
}

// TestConcurrentCreates fires 50 creates for one connection at once: exactly
// one creates the run; the others are told it is being processed (409) or
// sent to it (303); after the processing window every create is sent to it.
func TestConcurrentCreates(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, StepDuration: time.Minute, ProcessingWindow: 10 * time.Second})
	id := addConnection(s, "m1")
	creator := newRunCreator(s.URL + "/connections/" + id + "/runs")

	statuses, locations := creator.postAtOnce(t, 50)
	accepted := theAcceptedRun(t, statuses, locations)
	if got := s.RunCount(id); got != 1 {
		t.Errorf("RunCount = %d, want 1", got)
	}

	clock.Advance(10 * time.Second) // the processing window is over
	for range 5 {
		status, location, err := creator.post()
		if err != nil || status != http.StatusSeeOther || location != accepted {
			t.Errorf("after the window: %d %q %v; want 303 to %q", status, location, err, accepted)
		}
	}
}

// runCreator posts creates of an IFC run to one connection's runs URL and
// does not follow redirects, so that a 303 is seen as the answer.
type runCreator struct {
	client *http.Client
	url    string
}

// newRunCreator makes a runCreator for the runs URL url.
func newRunCreator(url string) *runCreator {
	return &runCreator{
		client: &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       10 * time.Second,
		},
		url: url,
	}
}

// post sends one create and returns the status and Location of the answer.
func (c *runCreator) post() (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(`{"exportType":"IFC"}`))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// postAtOnce sends n creates from n goroutines released together and
// returns the status and Location of each answer, by index.
func (c *runCreator) postAtOnce(t *testing.T, n int) (statuses []int, locations []string) {
	t.Helper()
	statuses = make([]int, n)
	locations = make([]string, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			var err error
			statuses[i], locations[i], err = c.post()
			if err != nil {
				t.Error(err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	return statuses, locations
}

// theAcceptedRun checks that exactly one answer is a 202 with a Location,
// that the others are 409s or 303s to that Location, and returns it.
func theAcceptedRun(t *testing.T, statuses []int, locations []string) string {
	t.Helper()
	var accepted string
	count := map[int]int{}
	for i, status := range statuses {
		count[status]++
		switch status {
		case http.StatusAccepted:
			accepted = locations[i]
		case http.StatusSeeOther, http.StatusConflict:
		default:
			t.Errorf("answer %d: status %d", i, status)
		}
	}
	if count[http.StatusAccepted] != 1 || accepted == "" {
		t.Fatalf("statuses %v: want exactly one 202 with a Location", count)
	}
	for i, status := range statuses {
		if status == http.StatusSeeOther && locations[i] != accepted {
			t.Errorf("303 to %q, want %q", locations[i], accepted)
		}
	}
	return accepted
}
