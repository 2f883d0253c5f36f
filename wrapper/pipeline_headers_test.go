package wrapper

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetHeaders_AcceptAndUserAgent: the stage sets the v1 Accept header
// unless the request has one, and the client's User-Agent.
func TestSetHeaders_AcceptAndUserAgent(t *testing.T) {
	t.Parallel()
	c := stageClient(t, Options{UserAgent: "tool/1.0"})
	for _, tc := range []struct{ accept, want string }{
		{"", acceptHeader},
		{"application/json", "application/json"},
	} {
		req := httptest.NewRequest("GET", "https://api.example.com/export/connections/c1", nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		var got *http.Request
		if _, err := runStage(c, c.setHeaders, seen(200, &got), req); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"Accept": tc.want, "User-Agent": "tool/1.0"}
		have := map[string]string{"Accept": got.Header.Get("Accept"), "User-Agent": got.Header.Get("User-Agent")}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("Accept %q: headers (-want +got):\n%s", tc.accept, diff)
		}
	}
}
