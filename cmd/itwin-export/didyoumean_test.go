package main

import "testing"

// TestDidYouMean: a mistyped command is a usage error naming the nearest
// commands.
func TestDidYouMean(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"stauts"}, "itwin-export: unknown command \"stauts\"; did you mean status?\nRun 'itwin-export --help' for usage.\n"},
		{[]string{"connection", "gte", "c1"}, "itwin-export connection: unknown command \"gte\"; did you mean get?\nRun 'itwin-export connection --help' for usage.\n"},
	} {
		r := runIn(t, nil, tt.args...)
		wantCode(t, r, exitUsage)
		if r.stderr != tt.want || r.stdout != "" {
			t.Errorf("%q: stdout %q, stderr %q", tt.args, r.stdout, r.stderr)
		}
	}
}
