package main

import (
	"strings"
	"testing"
)

// TestIDsAreEscaped: an id with /, ? or # reaches the server
// percent-encoded inside its path segment.
func TestIDsAreEscaped(t *testing.T) {
	const id = "a/b?c#d"
	const escaped = "a%2Fb%3Fc%23d"
	tests := []struct {
		args []string
		uri  string
	}{
		{[]string{"connection", "get", id}, "/export/connections/" + escaped},
		{[]string{"connection", "delete", id}, "/export/connections/" + escaped},
		{[]string{"run", "--connection", id}, "/export/connections/" + escaped + "/runs"},
		{[]string{"runs", "--connection", id}, "/export/connections/" + escaped + "/runs"},
		{[]string{"status", "r/1?x", "--connection", id}, "/export/connections/" + escaped + "/runs/r%2F1%3Fx"},
		{[]string{"connections", "--imodel", "m&n=1#2"}, "/export/connections?imodelId=m%26n%3D1%232"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			s := newFake(t, manualOpts())
			r := runCLI(t, envFor(s.URL), tt.args...)
			reqs := s.Requests()
			if len(reqs) == 0 {
				t.Fatalf("no request; stderr:\n%s", r.stderr)
			}
			if reqs[0].URI != tt.uri {
				t.Errorf("URI %q, want %q", reqs[0].URI, tt.uri)
			}
		})
	}
}
