package wrapper

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeRunBodies are run answers whose one-pass and two-pass decodings
// could differ if the one pass were taken blindly.
var decodeRunBodies = []string{
	`{"run":{"id":"r1","state":"Executing"}}`,
	`{"Run":{"id":"r1","state":"Executing"}}`,
	`{"run":{"id":"r1","state":"Completed","result":"Success"},"run":{"id":"r2","state":"Executing"}}`,
	`{"run":{"id":"r1","state":"Completed","result":"Success"},"RUN":{"state":"Executing"}}`,
	`{"r\u0075n":{"id":"r1","state":"Completed","result":"Success"},"run":{"state":"Executing"}}`,
	`{"run":{"id":"r1","state":"Executing","jobs":[{"id":"j1","state":"Executing","tasks":[{"id":"t1","error":{"code":"x","message":"é"}}]}]}}`,
	`{"run":{"id":"run","state":"Executing"}}`,
	`{"run":{"state":"Completed"}}`,
	`{"run":{"state":"Paused"}}`,
	`{"run":null}`,
	`{"runs":[]}`,
	`{"run":{"state":"Executing"}} x`,
	`{"run":{"state":5}}`,
	`[]`,
	`null`,
	``,
}

// TestDecodeRunIsDecodeMember: GetRun's one-pass decoding gives the same run
// and the same error as the two-pass decoding GetRunRaw uses, duplicate and
// escaped keys included (the last member wins, as in two passes).
func TestDecodeRunIsDecodeMember(t *testing.T) {
	t.Parallel()
	for _, body := range decodeRunBodies {
		checkDecodeRun(t, body)
	}
}

// FuzzDecodeRun holds decodeRun to decodeMember on any body.
func FuzzDecodeRun(f *testing.F) {
	for _, body := range decodeRunBodies {
		f.Add(body)
	}
	f.Fuzz(checkDecodeRun)
}

func checkDecodeRun(t *testing.T, body string) {
	c, err := New(Options{BaseURL: "https://api.example.com/export", TokenSource: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://api.example.com/export/connections/c1/runs/r1")
	x := &exchange{op: &opGetRun, url: u, status: 200, body: []byte(body), attempts: 1}
	got, gotErr := c.decodeRun(x)
	want, _, wantErr := decodeMember(c, x, "run", checkRun)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("body %q: decodeRun (-decodeMember +decodeRun):\n%s", body, d)
	}
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Errorf("body %q: decodeRun error %v, decodeMember error %v", body, gotErr, wantErr)
	}
}

// TestOnePassMember: only a body that cannot hold the key twice, or spell it
// with escapes or Unicode folding, is decoded in one pass.
func TestOnePassMember(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]bool{
		`{"run":{"state":"Executing"}}`:                 true,
		`{"state":"Executing"}`:                         true,
		`{"run":{},"Run":{}}`:                           false,
		`{"run":{"id":"RUN"}}`:                          false,
		`{"r\u0075n":{}}`:                               false,
		`{"run":{"id":"\"x"}}`:                          false,
		`{"run":{"id":"é"}}`:                            false,
		`{"run":{"id":"runner","connectionId":"xrun"}}`: true,
		`{"run":{"id":"r1","jobs":[{"id":"run-1"}]}}`:   true,
		`"run"`: true,
	} {
		if got := onePassMember([]byte(body), "run"); got != want {
			t.Errorf("onePassMember(%q) = %v, want %v", body, got, want)
		}
	}
}
