package secretscan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestScan(t *testing.T) {
	text := `level=DEBUG url="https://acct.blob.core.windows.net/c?sv=1&sig=REDACTED" status=200
Authorization: Bearer REDACTED
Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload
url=https://acct.blob.core.windows.net/c?sv=1&sig=abc%2Bdef
{"access_token":"tok123","token_type":"Bearer"}
client said my-client-secret-value
design=ok signal=fine`
	got := Scan(text, "my-client-secret-value")
	want := []Finding{
		{Kind: "bearer token", Match: "Bearer eyJhbGciOiJSUzI1NiJ9.payload", Line: 3},
		{Kind: "signature", Match: "&sig=abc%2Bdef", Line: 4},
		{Kind: "secret field", Match: `access_token":"tok123`, Line: 5},
		{Kind: "known secret", Match: "my-client-secret-value", Line: 6},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if f := Scan("nothing to see: sig=REDACTED, Bearer REDACTED", "absent-secret"); len(f) != 0 {
		t.Errorf("clean text: %v", f)
	}
}
