package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestRunPrintsLocation: without --wait, stdout is the run's absolute
// Location (the fake answers a relative one), then with --json the object;
// a second create while the run is active reports existing=true.
func TestRunPrintsLocation(t *testing.T) {
	for _, absolute := range []bool{false, true} {
		t.Run(fmt.Sprintf("absolute=%t", absolute), func(t *testing.T) {
			opts := manualOpts()
			opts.AbsoluteLocation = absolute
			s := newFake(t, opts)
			conn := addConnection(t, s)
			env := envFor(s.URL)

			r := runCLI(t, env, "run", "--connection", conn)
			wantCode(t, r, exitOK)
			runID := onlyRun(t, s, conn).ID
			loc := runLocation(s, conn, runID)
			if d := diff(loc+"\n", r.stdout); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if d := diff("created run "+runID+": "+loc+"\n", r.stderr); d != "" {
				t.Errorf("stderr (-want +got):\n%s", d)
			}

			// The run is still active: the API answers 303 to it.
			r = runCLI(t, env, "run", "--connection", conn)
			wantCode(t, r, exitOK)
			if d := diff(loc+"\n", r.stdout); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if d := diff("run "+runID+" already active: "+loc+"\n", r.stderr); d != "" {
				t.Errorf("stderr (-want +got):\n%s", d)
			}
			r = runCLI(t, env, "run", "--connection", conn, "--json")
			wantCode(t, r, exitOK)
			want := fmt.Sprintf("{\n  \"location\": %q,\n  \"runId\": %q,\n  \"existing\": true\n}\n", loc, runID)
			if d := diff(want, r.stdout); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if n := s.RunCount(conn); n != 1 {
				t.Errorf("%d runs created, want 1", n)
			}
		})
	}
}

// TestRunJSONNew: --json for a new run has existing=false.
func TestRunJSONNew(t *testing.T) {
	s := newFake(t, manualOpts())
	conn := addConnection(t, s)
	r := runCLI(t, envFor(s.URL), "run", "--json", "--connection", conn)
	wantCode(t, r, exitOK)
	runID := onlyRun(t, s, conn).ID
	want := fmt.Sprintf("{\n  \"location\": %q,\n  \"runId\": %q,\n  \"existing\": false\n}\n", runLocation(s, conn, runID), runID)
	if d := diff(want, r.stdout); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(r.stderr, "created run ") {
		t.Errorf("stderr does not say the run was created:\n%s", r.stderr)
	}
}

// TestRunRequestBody: each request flag maps onto its body field, a flag not
// given leaves its field out, and the option objects are sent only when one
// of their fields is set.
func TestRunRequestBody(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"defaults", nil, `{"exportType":"IFC"}`},
		{"ifc version", []string{"--ifc-version", "IFC2x3 CV 2.0"}, `{"exportType":"IFC","ifcVersion":"IFC2x3 CV 2.0"}`},
		{"pdf", []string{"--export-type", "PDF"}, `{"exportType":"PDF"}`},
		{"replace only", []string{"--replace"}, `{"exportType":"IFC","outputOptions":{"replaceOlderFile":true}}`},
		{"input options", []string{"--changeset", "cs1", "--saved-view", "sv1", "--mapping-file", "mf1",
			"--mapping-file-url", "https://acct.blob.core.windows.net/m/map.json?sv=1&sig=MAPSIG"},
			`{"exportType":"IFC","inputOptions":{"changesetId":"cs1","savedViewId":"sv1","mappingFileId":"mf1",
			"mappingfileBlobUrl":"https://acct.blob.core.windows.net/m/map.json?sv=1&sig=MAPSIG"}}`},
		{"storage", []string{"--location", "STORAGE", "--folder", "f1", "--replace", "--save-logs"},
			`{"exportType":"IFC","outputOptions":{"location":"STORAGE","folderId":"f1","replaceOlderFile":true,"saveLogs":true}}`},
		{"blob", []string{"--ifc-version", "IFC4.3", "--location", "USER_BLOB_STORAGE", "--save-logs",
			"--output-sas-url", "https://acct.blob.core.windows.net/out?sv=1&sig=OUTSIG",
			"--logs-sas-url", "https://acct.blob.core.windows.net/logs?sv=1&sig=LOGSIG"},
			`{"exportType":"IFC","ifcVersion":"IFC4.3","outputOptions":{"location":"USER_BLOB_STORAGE","saveLogs":true,
			"outputSasUrl":"https://acct.blob.core.windows.net/out?sv=1&sig=OUTSIG",
			"logsSasUrl":"https://acct.blob.core.windows.net/logs?sv=1&sig=LOGSIG"}}`},
		{"explicit false", []string{"--replace=false"}, `{"exportType":"IFC","outputOptions":{"replaceOlderFile":false}}`},
	}
	s := newFake(t, manualOpts())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := addConnection(t, s)
			r := runCLI(t, envFor(s.URL), append([]string{"run", "--connection", conn}, tt.flags...)...)
			wantCode(t, r, exitOK)
			posts := requestsTo(t, s, "POST", "/export/connections/"+conn+"/runs")
			if len(posts) != 1 {
				t.Fatalf("%d create requests, want 1", len(posts))
			}
			var got, want any
			if err := json.Unmarshal(posts[0].Body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if d := diff(want, got); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
			if h := posts[0].Header.Get("Authorization"); h != "Bearer "+testToken {
				t.Errorf("Authorization %q", h)
			}
		})
	}
}

// TestRunWaitSuccess: --wait polls until Completed, shows each state on
// stderr and ends with a summary on stdout; exit 0 for Success.
func TestRunWaitSuccess(t *testing.T) {
	t.Parallel()
	s, watch := steppedFake(t)
	conn := addConnection(t, s)
	r := runWatched(t, context.Background(), envFor(s.URL), watch, "run", "--connection", conn, "--wait", "--poll-interval", "10ms")
	wantCode(t, r, exitOK)
	run := onlyRun(t, s, conn)
	loc := runLocation(s, conn, run.ID)
	fileID := run.Jobs[0].Tasks[0].ExportOutputFileID
	want := "run:         " + run.ID + "\n" +
		"connection:  " + conn + "\n" +
		"location:    " + loc + "\n" +
		"state:       Completed\n" +
		"result:      Success\n" +
		"duration:    200ms\n" +
		"output file: " + fileID + "\n"
	if d := diff(want, r.stdout); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(r.stderr, "created run "+run.ID+": "+loc+"\n") {
		t.Errorf("stderr does not start with the creation:\n%s", r.stderr)
	}
	checkProgress(t, r.stderr, "Success")
}

// TestRunWaitJSON: with --wait --json, stdout is the run object as the API
// returned it.
func TestRunWaitJSON(t *testing.T) {
	t.Parallel()
	s, watch := steppedFake(t)
	conn := addConnection(t, s)
	r := runWatched(t, context.Background(), envFor(s.URL), watch, "run", "--connection", conn, "--wait", "--json", "--poll-interval", "10ms")
	wantCode(t, r, exitOK)
	got := decodeJSON(t, r.stdout)
	want := rawRun(t, runLocation(s, conn, onlyRun(t, s, conn).ID))
	if d := diff(want, got); d != "" {
		t.Errorf("stdout is not the run as returned (-want +got):\n%s", d)
	}
}

// TestRunWaitNotSuccess: a run completed with Error or PartialSuccess exits
// 3; the summary lists its output files and task errors, and stderr names
// the failure in one line.
func TestRunWaitNotSuccess(t *testing.T) {
	for _, tt := range []struct {
		outcome apitest.Outcome
		result  string
	}{
		{apitest.OutcomeError, "Error"},
		{apitest.OutcomePartialSuccess, "PartialSuccess"},
	} {
		t.Run(tt.result, func(t *testing.T) {
			t.Parallel()
			s, watch := steppedFake(t)
			conn := addConnection(t, s)
			s.SetOutcome(conn, tt.outcome)
			r := runWatched(t, context.Background(), envFor(s.URL), watch, "run", "--connection", conn, "--wait", "--poll-interval", "10ms")
			wantCode(t, r, exitRunFail)
			run := onlyRun(t, s, conn)
			task := run.Jobs[0].Tasks[0]
			want := "run:         " + run.ID + "\n" +
				"connection:  " + conn + "\n" +
				"location:    " + runLocation(s, conn, run.ID) + "\n" +
				"state:       Completed\n" +
				"result:      " + tt.result + "\n" +
				"duration:    200ms\n"
			if task.ExportOutputFileID != "" {
				want += "output file: " + task.ExportOutputFileID + "\n"
			}
			want += "task error:  task " + task.ID + ": TAE_BRW_1000: Failed to export your file. (user can fix: false)\n"
			if d := diff(want, r.stdout); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			checkProgress(t, r.stderr, tt.result)
			last := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			errLine := last[len(last)-1]
			for _, part := range []string{"itwin-export: run did not succeed", "result " + tt.result, "TAE_BRW_1000"} {
				if !strings.Contains(errLine, part) {
					t.Errorf("error line lacks %q: %s", part, errLine)
				}
			}
		})
	}
}

// TestStatus: a run named by its Location or by its id and --connection.
func TestStatus(t *testing.T) {
	s := newFake(t, manualOpts())
	conn := addConnection(t, s)
	ref, err := newClient(t, s.URL).CreateRun(context.Background(), conn, wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	env := envFor(s.URL)
	want := "run:         " + ref.RunID + "\n" +
		"connection:  " + conn + "\n" +
		"location:    " + ref.Location + "\n" +
		"state:       NotStarted\n" +
		"result:      Undetermined\n"

	t.Run("location", func(t *testing.T) {
		r := runCLI(t, env, "status", ref.Location)
		wantCode(t, r, exitOK)
		if d := diff(want, r.stdout); d != "" {
			t.Errorf("stdout (-want +got):\n%s", d)
		}
	})
	t.Run("run id", func(t *testing.T) {
		r := runCLI(t, env, "status", ref.RunID, "--connection", conn)
		wantCode(t, r, exitOK)
		if d := diff(want, r.stdout); d != "" {
			t.Errorf("stdout (-want +got):\n%s", d)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, env, "status", "--json", "--connection", conn, ref.RunID)
		wantCode(t, r, exitOK)
		if d := diff(rawRun(t, ref.Location), decodeJSON(t, r.stdout)); d != "" {
			t.Errorf("stdout (-want +got):\n%s", d)
		}
	})
	t.Run("run id without connection", func(t *testing.T) {
		before := len(s.Requests())
		r := runCLI(t, env, "status", ref.RunID)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "--connection") {
			t.Errorf("stderr does not ask for --connection:\n%s", r.stderr)
		}
		if n := len(s.Requests()) - before; n != 0 {
			t.Errorf("%d requests sent, want none", n)
		}
	})
	t.Run("foreign location", func(t *testing.T) {
		before := len(s.Requests())
		r := runCLI(t, env, "status", "https://elsewhere.example.com/export/connections/"+conn+"/runs/"+ref.RunID)
		wantCode(t, r, exitUsage)
		wantOneErrorLine(t, r, "outside the API's origin")
		if n := len(s.Requests()) - before; n != 0 {
			t.Errorf("%d requests sent, want none", n)
		}
	})
}

// TestStatusCompleted: status of a completed run exits 0 for Success and 3
// otherwise; status --wait waits like run --wait.
func TestStatusCompleted(t *testing.T) {
	t.Parallel()
	s, watch := steppedFake(t)
	good, bad := addConnection(t, s), addConnection(t, s)
	s.SetOutcome(bad, apitest.OutcomeError)
	c := newClient(t, s.URL)
	goodRef, err := c.CreateRun(context.Background(), good, wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	badRef, err := c.CreateRun(context.Background(), bad, wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	env := envFor(s.URL)

	r := runWatched(t, context.Background(), env, watch, "status", badRef.Location, "--wait", "--poll-interval", "10ms")
	wantCode(t, r, exitRunFail)
	checkProgress(t, r.stderr, "Error")
	if !strings.Contains(r.stdout, ": TAE_BRW_1000: ") {
		t.Errorf("stdout lacks the task error:\n%s", r.stdout)
	}

	r = runWatched(t, context.Background(), env, watch, "status", goodRef.Location, "--wait", "--poll-interval", "10ms")
	wantCode(t, r, exitOK)
	r = runCLI(t, env, "status", goodRef.Location)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "result:      Success\n") {
		t.Errorf("stdout lacks the result:\n%s", r.stdout)
	}
	r = runCLI(t, env, "status", badRef.RunID, "--connection", bad)
	wantCode(t, r, exitRunFail)
}

// TestRunValidationNamesFlags: a request the API would refuse is not sent,
// exits 2, and names the flags to fix.
func TestRunValidationNamesFlags(t *testing.T) {
	s := newFake(t, manualOpts())
	conn := addConnection(t, s)
	tests := []struct {
		name  string
		flags []string
		parts []string
	}{
		{"ifc version with PDF", []string{"--export-type", "PDF", "--ifc-version", "IFC4.3"},
			[]string{"invalid request (not sent)", "ifcVersion (--ifc-version): is allowed only with exportType IFC"}},
		{"SAS without blob storage", []string{"--output-sas-url", "https://acct.blob.core.windows.net/c?sv=1&sig=SECRETSIG123"},
			[]string{"outputOptions.outputSasUrl (--output-sas-url): is allowed only with location USER_BLOB_STORAGE"}},
		{"blob storage without SAS", []string{"--location", "USER_BLOB_STORAGE"},
			[]string{"outputOptions.outputSasUrl (--output-sas-url): is required with location USER_BLOB_STORAGE"}},
		{"unknown export type", []string{"--export-type", "DWG"}, []string{"exportType (--export-type)"}},
		{"unknown location", []string{"--location", "DISK"}, []string{"outputOptions.location (--location)"}},
		{"plain http SAS", []string{"--location", "USER_BLOB_STORAGE", "--output-sas-url", "http://acct/c"},
			[]string{"must be an absolute https URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Requests())
			r := runCLI(t, envFor(s.URL), append([]string{"run", "--connection", conn}, tt.flags...)...)
			wantCode(t, r, exitUsage)
			wantOneErrorLine(t, r, tt.parts...)
			if strings.Contains(r.stderr, "SECRETSIG123") {
				t.Errorf("stderr shows the SAS signature:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			if n := len(s.Requests()) - before; n != 0 {
				t.Errorf("the server received %d requests, want none", n)
			}
		})
	}
}

// TestVerboseRedacts: --verbose logs every exchange on stderr, and neither
// the token nor a SAS signature appears on stdout or stderr.
func TestVerboseRedacts(t *testing.T) {
	t.Parallel()
	const sig = "SECRETSIG123"
	s, watch := steppedFake(t)
	conn := addConnection(t, s)
	r := runWatched(t, context.Background(), envFor(s.URL), watch, "run", "--connection", conn, "--verbose", "--wait", "--poll-interval", "10ms",
		"--location", "USER_BLOB_STORAGE", "--output-sas-url", "https://acct.blob.core.windows.net/c?sv=2024&sig="+sig)
	wantCode(t, r, exitOK)
	for _, part := range []string{`msg="http exchange"`, "method=POST", "status=202", "method=GET", "status=200", "attempt=1", "duration="} {
		if !strings.Contains(r.stderr, part) {
			t.Errorf("stderr lacks %q:\n%s", part, r.stderr)
		}
	}
	for _, secret := range []string{testToken, sig} {
		if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
			t.Errorf("%q appears in the output\nstdout:\n%s\nstderr:\n%s", secret, r.stdout, r.stderr)
		}
	}
	// The signature did reach the API: only the output hides it.
	posts := requestsTo(t, s, "POST", "/export/connections/*/runs")
	if len(posts) != 1 || !strings.Contains(string(posts[0].Body), sig) {
		t.Errorf("the create request did not carry the SAS URL: %q", posts)
	}

	// Errors logged with --verbose hide the token too.
	s.InjectFault(apitest.Fault{Method: "GET", Path: "/export/connections/*", Status: 404})
	r = runCLI(t, map[string]string{envAPIURL: s.URL}, "connection", "get", conn, "--verbose", "--token", testToken)
	wantCode(t, r, exitRefused)
	if !strings.Contains(r.stderr, "status=404") || strings.Contains(r.stderr, testToken) {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestJSONRunIsTheAPIsOwn: `status --json` and `run --wait --json` print the
// run object as the API sent it, members the contract does not know and the
// API's member order included, indented.
func TestJSONRunIsTheAPIsOwn(t *testing.T) {
	const run = `{"state":"Completed","id":"r1","result":"Success","priority":{"level":3,"queue":"nightly"},"jobs":[{"id":"j1","state":"Completed","result":"Success","tasks":[{"id":"t1","state":"Completed","result":"Success","exportOutputFileId":"f1","sizeBytes":1024}]}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/r1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"run":%s,"etag":"x"}`, run)
	}))
	defer srv.Close()
	var want bytes.Buffer
	if err := json.Indent(&want, []byte(run), "", "  "); err != nil {
		t.Fatal(err)
	}
	want.WriteByte('\n')
	env := envFor(srv.URL + "/export")
	for _, args := range [][]string{
		{"status", "r1", "--connection", "c1", "--json"},
		{"status", srv.URL + "/export/connections/c1/runs/r1", "--wait", "--json"},
		{"run", "--connection", "c1", "--wait", "--poll-interval", "10ms", "--json"},
	} {
		r := runCLI(t, env, args...)
		wantCode(t, r, exitOK)
		if d := diff(want.String(), r.stdout); d != "" {
			t.Errorf("%s: stdout (-want +got):\n%s", strings.Join(args, " "), d)
		}
	}
}

// TestResumeAfterFailedWait: when waiting fails after the run was created,
// stderr says how to resume.
func TestResumeAfterFailedWait(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/r1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	r := runIn(t, envFor(srv.URL+"/export"), "run", "--connection", "c1", "--wait", "--poll-interval", "1ms")
	wantCode(t, r, exitNoAnswer)
	want := "itwin-export status " + srv.URL + "/export/connections/c1/runs/r1 --wait"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}
