package wrapper_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServerCodeLinked keeps programs that import wrapper (or api) free of
// server and spec-parsing code: those belong to apitest alone.
func TestNoServerCodeLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/itwin-export/itwin-export/wrapper", "github.com/itwin-export/itwin-export/api").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list printed %d packages; expected the full dependency list", len(deps))
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/getkin/kin-openapi", "/apitest", "exportserver", "yaml"} {
			if strings.Contains(dep, banned) {
				t.Errorf("wrapper links %s", dep)
			}
		}
	}
}
