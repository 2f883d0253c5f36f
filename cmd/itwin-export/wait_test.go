package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestProgress: one line per state change off a terminal; a live line
// rewritten in place on one.
func TestProgress(t *testing.T) {
	states := []api.ExecutionState{api.ExecutionStateQueued, api.ExecutionStateExecuting, api.ExecutionStateCompleted}
	result := api.ExecutionResultSuccess
	for _, live := range []bool{false, true} {
		var b syncBuffer
		p := newProgress(&b, &outputFilter{}, live)
		for i, st := range states {
			run := &api.ExportRun{State: st}
			if st == api.ExecutionStateCompleted {
				run.Result = result
			}
			p.update(wrapper.Progress{Run: run, State: st, Elapsed: time.Duration(i) * 1500 * time.Millisecond})
		}
		p.done()
		want := "    0.0s  Queued\n    1.5s  Executing\n    3.0s  Completed (Success)\n"
		if live {
			want = "\r\033[KQueued  0.0s\r\033[KExecuting  1.5s\r\033[KCompleted (Success)  3.0s\n"
		}
		if d := diff(want, b.String()); d != "" {
			t.Errorf("live=%t (-want +got):\n%q", live, d)
		}
	}
}

// TestSummaryOfRunningRun: no duration until the run ends; task errors and
// output files of every task.
func TestSummaryOfRunningRun(t *testing.T) {
	state, result := api.ExecutionStateExecuting, api.ExecutionResultUndetermined
	var b bytes.Buffer
	(&app{}).writeSummary(&b, &api.ExportRun{ID: "r1", State: state, Result: result, StartDateTime: new(time.Now())}, "")
	if d := diff("run:         r1\nstate:       Executing\nresult:      Undetermined\n", b.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	b.Reset()
	jobs := []api.ExportJob{{ID: "j1", Tasks: []api.ExportTask{{ID: "t1", ExportOutputFileID: "f1",
		Error: &api.TaskError{ErrorCode: new("E1"), Message: new("went \x1b[2Jwrong"), KbArticleLink: new("https://kb/1")}}}}}
	(&app{}).writeSummary(&b, &api.ExportRun{ID: "r1", Jobs: jobs}, "")
	want := "run:         r1\noutput file: f1\ntask error:  task t1: E1: went wrong (see https://kb/1)\n"
	if d := diff(want, b.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
