package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestValidateSAS_RefusesUnusableBlobLinks: a USER_BLOB_STORAGE link the
// service could not write to (no signature, expired, read-only) is refused
// before the run is created, the field named and the signature never
// quoted; a stored-access-policy link (si without sp and se) passes.
func TestValidateSAS_RefusesUnusableBlobLinks(t *testing.T) {
	t.Parallel()
	const base = "https://acct.blob.core.windows.net/exports"
	good := base + "?sv=2023-11-03&sr=c&sp=rcw&se=2099-01-01T00:00:00Z&sig=SECRETSIG"
	for _, tc := range []struct {
		name      string
		out, logs string
		want      []wrapper.Problem
	}{
		{"no sig", base + "?sv=2023-11-03&sp=cw&se=2099-01-01T00:00:00Z", good,
			[]wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: "has no signature (sig): the service could not write the export there"}}},
		{"blank sig", base + "?sp=cw&sig=", good,
			[]wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: "has no signature (sig): the service could not write the export there"}}},
		{"expired", base + "?sp=rcw&se=2020-01-02T03:04:05Z&sig=SECRETSIG", good,
			[]wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: "expired at 2020-01-02T03:04:05Z (se): make a new link"}}},
		{"expired date only", base + "?sp=w&se=2020-01-02&sig=SECRETSIG", good,
			[]wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: "expired at 2020-01-02T00:00:00Z (se): make a new link"}}},
		{"read only", base + "?sp=rl&se=2099-01-01&sig=SECRETSIG", good,
			[]wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: `grants "rl" (sp), neither write (w) nor create (c): the service could not write the export there`}}},
		{"logs read only and expired", good, base + "?sp=r&se=2001-01-01T00:00:00.0000000Z&si%67=SECRETSIG",
			[]wrapper.Problem{
				{Field: "outputOptions.logsSasUrl", Message: "expired at 2001-01-01T00:00:00Z (se): make a new link"},
				{Field: "outputOptions.logsSasUrl", Message: `grants "r" (sp), neither write (w) nor create (c): the service could not write the export there`},
			}},
		{"stored access policy", base + "?sv=2023-11-03&sr=c&si=upload-policy&sig=SECRETSIG", good, nil},
		{"create only", base + "?sp=c&se=2099-01-01T00:00Z&sig=SECRETSIG", good, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", "/export/connections/c1/runs/r1")
				writeJSON(w, http.StatusAccepted, `{}`)
			})
			c := newClient(t, srv.base())
			req := api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{
				Location: ptr(api.LocationUSERBLOBSTORAGE), OutputSASURL: ptr(tc.out), LogsSASURL: ptr(tc.logs), SaveLogs: ptr(true)}}
			_, err := c.CreateRun(context.Background(), "c1", req)
			posts := 0
			for _, r := range srv.seen() {
				if r.Method == http.MethodPost {
					posts++
				}
			}
			if tc.want == nil {
				if err != nil || posts != 1 {
					t.Fatalf("CreateRun = %v after %d POSTs, want the run created", err, posts)
				}
				return
			}
			var ve *wrapper.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, wrapper.ErrValidation) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if diff := cmp.Diff(tc.want, ve.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "SECRETSIG") {
				t.Errorf("the error quotes the signature: %v", err)
			}
			if posts != 0 {
				t.Errorf("%d POSTs sent, want none", posts)
			}
		})
	}
}
