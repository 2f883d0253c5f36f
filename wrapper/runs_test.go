package wrapper_test

import (
	"encoding"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/wrapper"
)

var (
	_ encoding.TextMarshaler   = wrapper.RunRef{}
	_ encoding.TextUnmarshaler = (*wrapper.RunRef)(nil)
)

func TestParseRunRef_GarbageIsAParseError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"garbage", `parse error: run reference "garbage" is not an absolute URL (a run's Location is https://.../connections/{id}/runs/{runId})`},
		{"::", `parse error: run reference "::" does not parse as a URL`},
		{"https://api.bentley.com/export/connections/c1", `parse error: run reference "https://api.bentley.com/export/connections/c1" does not name a run (/connections/{id}/runs/{runId})`},
		{"https://api.bentley.com/export/connections/c1/runs/r1?sig=SECRET", `parse error: run reference "https://api.bentley.com/export/connections/c1/runs/r1?sig=REDACTED" has a query or fragment; a run URL has neither`},
	} {
		_, err := wrapper.ParseRunRef(tc.in)
		var perr *wrapper.RunRefParseError
		if !errors.As(err, &perr) {
			t.Fatalf("ParseRunRef(%q) = %v (%T), want a *RunRefParseError", tc.in, err, err)
		}
		if !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("ParseRunRef(%q): %v does not match ErrValidation", tc.in, err)
		}
		if !errors.Is(err, wrapper.ErrMissingLocation) {
			t.Errorf("ParseRunRef(%q): %v no longer matches ErrMissingLocation", tc.in, err)
		}
		if errors.Is(err, wrapper.ErrForeignLocation) {
			t.Errorf("ParseRunRef(%q): %v matches ErrForeignLocation", tc.in, err)
		}
		if got := err.Error(); got != tc.want {
			t.Errorf("ParseRunRef(%q) error\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// A job's saved state holds its RunRef as the run's Location, and reads it
// back with every id.
func TestRunRef_RoundTripsThroughJSON(t *testing.T) {
	t.Parallel()
	type jobState struct {
		Run   wrapper.RunRef  `json:"run"`
		Other *wrapper.RunRef `json:"other,omitempty"`
		Empty wrapper.RunRef  `json:"empty"`
	}
	ref, err := wrapper.ParseRunRef("https://api.bentley.com/export/connections/a%2Fb/runs/r1")
	if err != nil {
		t.Fatal(err)
	}
	ref.Existing = true // not part of the text
	b, err := json.Marshal(jobState{Run: ref})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"run":"https://api.bentley.com/export/connections/a%2Fb/runs/r1","empty":""}`; string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
	var back jobState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := jobState{Run: wrapper.RunRef{Location: ref.Location, ConnectionID: "a/b", RunID: "r1"}}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRunRef_UnmarshalTextRefusesGarbage(t *testing.T) {
	t.Parallel()
	var state struct {
		Run wrapper.RunRef `json:"run"`
	}
	err := json.Unmarshal([]byte(`{"run":"garbage"}`), &state)
	var perr *wrapper.RunRefParseError
	if !errors.As(err, &perr) || !errors.Is(err, wrapper.ErrValidation) {
		t.Fatalf("err = %v (%T), want a *RunRefParseError matching ErrValidation", err, err)
	}
	if diff := cmp.Diff(wrapper.RunRef{}, state.Run); diff != "" {
		t.Errorf("RunRef set despite the error (-want +got):\n%s", diff)
	}
	ref := wrapper.RunRef{Location: "https://api.bentley.com/export/connections/c1/runs/r1", ConnectionID: "c1", RunID: "r1"}
	kept := ref
	if err := kept.UnmarshalText([]byte("garbage")); err == nil {
		t.Fatal("UnmarshalText(garbage): no error")
	}
	if diff := cmp.Diff(ref, kept); diff != "" {
		t.Errorf("RunRef changed by a failed UnmarshalText (-want +got):\n%s", diff)
	}
}
