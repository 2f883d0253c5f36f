package conformance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/conformance"
)

// startFake starts the fake with its control API on, for one test.
func startFake(t *testing.T) conformance.Fake {
	t.Helper()
	s := apitest.NewServer(apitest.Options{Control: true})
	t.Cleanup(s.Close)
	return conformance.Fake{Origin: strings.TrimSuffix(s.URL, "/export")}
}

// loadScenarios reads every scenario file.
func loadScenarios(t *testing.T) []conformance.Scenario {
	t.Helper()
	scenarios, err := conformance.Load("scenarios")
	if err != nil {
		t.Fatal(err)
	}
	return scenarios
}

// TestGoClient runs every scenario against the Go client, one subtest per
// scenario file (make conformance counts them).
func TestGoClient(t *testing.T) {
	fake := startFake(t)
	for _, sc := range loadScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			failures, err := conformance.Run(context.Background(), fake, sc, conformance.GoClient(nil))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range failures {
				t.Error(f)
			}
		})
	}
}
