package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// testFactory is a factory on buffers with the environment env.
func testFactory(env map[string]string) (*factory, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &factory{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}, &stdout, &stderr
}

// TestRunFlagsToOptions: run's flags land in its options, and nothing runs.
func TestRunFlagsToOptions(t *testing.T) {
	t.Parallel()
	f, stdout, stderr := testFactory(nil)
	var got *runCmd
	cmd := newRunCmd(f, func(c *runCmd, args []string) error {
		got = c
		if len(args) != 0 {
			t.Errorf("args %q", args)
		}
		return nil
	})
	cmd.SetArgs([]string{"--connection", "c1", "--connection=c2", "--ifc-version", "IFC4.3", "--replace=false",
		"--save-logs", "--wait", "--poll-interval", "5s", "--timeout=1m", "--parallel", "3", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("runF not called")
	}
	if diff := cmp.Diff([]string{"c1", "c2"}, []string(got.connections)); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
	if !got.wait || got.poll != 5*time.Second || got.timeout != time.Minute || got.parallel != 3 || !got.json {
		t.Errorf("wait %t poll %s timeout %s parallel %d json %t", got.wait, got.poll, got.timeout, got.parallel, got.json)
	}
	req, err := got.request()
	if err != nil {
		t.Fatal(err)
	}
	v := api.IFCVersionIFC43
	want := api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: &v,
		OutputOptions: &api.ExportRunOutputOptions{ReplaceOlderFile: new(false), SaveLogs: new(true)}}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
}

// TestIModelFromEnvironment: ITWIN_IMODEL_ID is the default of --imodel of
// connections and connection create; the flag wins.
func TestIModelFromEnvironment(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory(map[string]string{envIModelID: "M"})
	for _, tt := range []struct {
		args []string
		want string
	}{{nil, "M"}, {[]string{"--imodel", "N"}, "N"}} {
		var got string
		list := newConnectionsCmd(f, func(c *connectionsCmd, _ []string) error { got = c.iModel; return nil })
		list.SetArgs(tt.args)
		if err := list.Execute(); err != nil || got != tt.want {
			t.Errorf("connections %q: iModel %q (%v), want %q", tt.args, got, err, tt.want)
		}
		create := newConnectionCreateCmd(f, func(c *connectionCreateCmd, _ []string) error { got = c.iModel; return nil })
		create.SetArgs(tt.args)
		if err := create.Execute(); err != nil || got != tt.want {
			t.Errorf("connection create %q: iModel %q (%v), want %q", tt.args, got, err, tt.want)
		}
	}
}

// TestInjectedClient: a command uses the client the factory builds; with
// no credentials in the environment, it still reaches the fake.
func TestInjectedClient(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	conn := s.AddConnection(api.ExportConnectionCreate{IModelID: "M"})
	f, stdout, stderr := testFactory(nil)
	f.newClient = func(context.Context, *clientFlags) (*wrapper.Client, error) { return newClient(t, s.URL), nil }
	if code := execute(context.Background(), f, []string{"connections", "--imodel", "M", "--jq", ".[].id"}); code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if got := stdout.String(); got != conn.ID+"\n" {
		t.Errorf("stdout %q", got)
	}
}
