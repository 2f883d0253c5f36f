package wrapper_test

import (
	"testing"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestPtr_PointsToACopy(t *testing.T) {
	v := api.IFCVersionIFC43
	p := wrapper.Ptr(v)
	if p == nil || *p != api.IFCVersionIFC43 {
		t.Fatalf("Ptr(%q) = %v, want a pointer to %q", v, p, v)
	}
	v = api.IFCVersionIFC2X3
	if *p != api.IFCVersionIFC43 {
		t.Fatalf("*Ptr changed with the variable it was given: %q", *p)
	}
	if a, b := wrapper.Ptr(1), wrapper.Ptr(1); a == b {
		t.Fatal("two calls returned the same pointer")
	}
}
