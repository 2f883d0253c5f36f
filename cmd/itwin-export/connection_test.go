package main

import (
	"encoding/json"
	"testing"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// TestConnectionCommands: create, get (plain and --json, compared whole),
// list and delete.
func TestConnectionCommands(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	env := envFor(s.URL)
	id := createAndGet(t, s, env)
	line := id + "\tService\tim-1\tnightly export\n"

	other := s.AddConnection(api.ExportConnectionCreate{IModelID: "im-1"})
	s.AddConnection(api.ExportConnectionCreate{IModelID: "im-2"})
	r := runCLI(t, env, "connections", "--imodel", "im-1")
	wantCode(t, r, exitOK)
	if d := diff(line+other.ID+"\tUser\tim-1\t\n", r.stdout); d != "" {
		t.Errorf("connections stdout (-want +got):\n%s", d)
	}
	r = runCLI(t, env, "connections", "--imodel", "im-1", "--json")
	wantCode(t, r, exitOK)
	if list, ok := decodeJSON(t, r.stdout).([]any); !ok || len(list) != 2 {
		t.Errorf("connections --json is not an array of 2:\n%s", r.stdout)
	}
	r = runCLI(t, env, "connections", "--imodel", "no-such-imodel", "--json")
	wantCode(t, r, exitOK)
	if d := diff("[]\n", r.stdout); d != "" {
		t.Errorf("empty list (-want +got):\n%s", d)
	}

	r = runCLI(t, env, "connection", "delete", id)
	wantCode(t, r, exitOK)
	if r.stdout != "" || r.stderr != "deleted connection "+id+"\n" {
		t.Errorf("delete: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	r = runCLI(t, env, "connection", "get", id)
	wantCode(t, r, exitRefused)
	wantOneErrorLine(t, r, "not found", "ConnectionNotFound")
}

// createAndGet creates a connection through the command, shows it plain
// and as JSON, and returns its id.
func createAndGet(t *testing.T, s *apitest.Server, env map[string]string) string {
	t.Helper()
	r := runCLI(t, env, "connection", "create", "--imodel", "im-1", "--name", "nightly\texport", "--auth", "Service", "--json")
	wantCode(t, r, exitOK)
	var created api.ExportConnection
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.ID == "" || created.ITwinID == "" {
		t.Fatalf("stdout is not a connection (%v):\n%s", err, r.stdout)
	}
	id, iTwin := created.ID, created.ITwinID
	if d := diff("created connection "+id+"\n", r.stderr); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
	posts := requestsTo(t, s, "POST", "/export/connections")
	if len(posts) != 1 || string(posts[0].Body) != `{"authenticationType":"Service","displayName":"nightly\texport","iModelId":"im-1"}` {
		t.Errorf("create body: %q", posts)
	}

	r = runCLI(t, env, "connection", "get", id, "--json")
	wantCode(t, r, exitOK)
	want := `{
  "_links": {
    "iModel": {
      "href": "https://api.bentley.com/imodels/im-1"
    },
    "iTwin": {
      "href": "https://api.bentley.com/itwins/` + iTwin + `"
    }
  },
  "authenticationType": "Service",
  "displayName": "nightly\texport",
  "iModelId": "im-1",
  "iTwinId": "` + iTwin + `",
  "id": "` + id + `"
}
`
	if d := diff(want, r.stdout); d != "" {
		t.Errorf("connection get --json stdout (-want +got):\n%s", d)
	}

	line := id + "\tService\tim-1\tnightly export\n"
	r = runCLI(t, env, "connection", "get", id)
	wantCode(t, r, exitOK)
	if d := diff(line, r.stdout); d != "" {
		t.Errorf("connection get stdout (-want +got):\n%s", d)
	}
	return id
}
