package conformance_test

import (
	"testing"

	"github.com/itwin-export/itwin-export/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
