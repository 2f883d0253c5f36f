package wrapper_test

// Tests of Client.Redact; the planted credentials and their scanner are
// leaks_test.go's.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestClient_Redact_EveryEncoding: the client's credentials in each encoding a
// server or a log may give them, and SAS signatures and codes under each
// name and escaping, are gone from what Client.Redact returns.
func TestClient_Redact_EveryEncoding(t *testing.T) {
	c := plantedClient(t)
	b64 := base64.StdEncoding.EncodeToString
	jsonEsc := func(s string) string {
		q, _ := json.Marshal(s)
		return strings.ReplaceAll(string(q[1:len(q)-1]), "/", `\/`)
	}
	for name, text := range map[string]string{
		"token verbatim":         "you sent " + plantedToken,
		"token percent-encoded":  "next=%2Fcb%3Ft%3D" + url.QueryEscape(plantedToken),
		"token path-escaped":     "/runs/" + url.PathEscape(plantedToken),
		"token double-encoded":   "u=" + url.QueryEscape(url.QueryEscape(plantedToken)),
		"token json-escaped":     `{"m":"got ` + jsonEsc(plantedToken) + `"`,
		"token base64":           "trace " + b64([]byte(plantedToken)),
		"token inside base64":    "blob " + base64.RawURLEncoding.EncodeToString([]byte(`{"auth":"`+plantedToken+`"}`)),
		"secret verbatim":        "secret " + plantedSecret,
		"secret percent-encoded": "client_id=x&cs=" + url.QueryEscape(plantedSecret),
		"secret json-escaped":    `"` + jsonEsc(plantedSecret) + `"`,
		"basic header":           "Authorization: Basic " + b64([]byte("client-id:"+plantedSecret)),
		"basic header escaped":   "Authorization: Basic " + b64([]byte(url.QueryEscape("client-id")+":"+url.QueryEscape(plantedSecret))),
		"signature member":       `{"signature":"` + plantedSig + `"}`,
		"x-amz-signature member": `{"x-amz-signature": "` + plantedSig + `"}`,
		"escaped json member":    `"{\"sig\":\"` + plantedSig + `\"}"`,
		"code in free text":      "redirected to https://app.example.com/cb?code=" + plantedCode + " and back",
		"sig double-encoded":     "next=https%253A%252F%252Fa.blob%252Fc%253Fsv%253D1%2526sig%253D" + plantedSig,
		"sig json-escaped":       `{"u":"https://a.blob/c?sv=1\u0026sig=` + plantedSig + `"}`,
		"sig upper-case":         "https://a.blob/c?SIG=" + plantedSig,
		"bearer":                 "Authorization: Bearer " + plantedSig,
	} {
		out := c.Redact(text)
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s: nothing redacted in %q", name, out)
		}
		scanPlanted(t, name, out)
	}
}

// TestClient_Redact_KeepsJSONValid: a raw run echoing the token and a SAS
// signature in several members comes out as valid JSON of the same shape,
// with REDACTED where they were.
func TestClient_Redact_KeepsJSONValid(t *testing.T) {
	c := plantedClient(t)
	sas := "https://acct.blob.core.windows.net/c/out.ifc?sv=2024-05-04&sp=cw&sig=" + plantedSig
	raw := fmt.Sprintf(`{"id":"r-%[1]s","connectionId":"c1","state":"Completed","result":"Error",
 "outputOptions":{"location":"USER_BLOB_STORAGE","outputSasUrl":%[2]q},
 "jobs":[{"id":"j1","tasks":[{"id":"t1","error":{"errorCode":"E","description":"bearer %[1]s rejected","message":"see %[3]s",
 "details":"token\/%[4]s","signature":%[5]q}}]}]}`, plantedToken, sas, url.QueryEscape(sas), strings.ReplaceAll(plantedToken, "/", `\/`), plantedSig)
	if !json.Valid([]byte(raw)) {
		t.Fatalf("the test's run is not JSON: %s", raw)
	}
	out := c.Redact(raw)
	var before, after map[string]any
	if err := json.Unmarshal([]byte(raw), &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &after); err != nil {
		t.Fatalf("redacted run is not valid JSON: %v\n%s", err, out)
	}
	if len(after) != len(before) || after["state"] != "Completed" || !strings.Contains(out, "REDACTED") {
		t.Errorf("the run lost its shape: %s", out)
	}
	scanPlanted(t, "redacted run", out)
}
