package wrapper

import (
	"testing"

	"github.com/itwin-export/itwin-export/api"
)

// TestRunsURLMatchesTheContract holds the hand-built URL of the hot path to
// the generated request builder, which follows openapi.yaml.
func TestRunsURLMatchesTheContract(t *testing.T) {
	for _, base := range []string{"https://api.bentley.com/export", "http://127.0.0.1:8080/export", "https://proxy.example.com/a%2Fb/export"} {
		c, err := New(Options{BaseURL: base, TokenSource: StaticToken("t")})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"c1", "a/b", "a?b#c", "100%", "a b", "é", "..a", "VRZHoBhrnkGrAev0-_-d_xwvyrzjgaVGka5wU967Q7M"} {
			want, err := api.NewCreateExportConnectionRunRequestWithBody(c.baseURL+"/", id, "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.runsURL(id); got.String() != want.URL.String() {
				t.Errorf("base %s, id %q: %s, generated builder says %s", base, id, got, want.URL)
			}
		}
	}
}
