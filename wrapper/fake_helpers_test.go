package wrapper_test

import (
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// newFake starts apitest with contract validation failing the test.
func newFake(t *testing.T, opts apitest.Options) *apitest.Server {
	t.Helper()
	opts.OnContractViolation = func(err error) { t.Errorf("contract violation: %v", err) }
	s := apitest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}
