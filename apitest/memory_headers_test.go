package apitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// floodHeaders are n bytes of headers, in pieces of 16 KiB.
func floodHeaders(n int) map[string]string {
	h := map[string]string{}
	for i := 0; n > 0; i++ {
		size := min(n, 16<<10)
		h[fmt.Sprintf("X-Flood-%d", i)] = strings.Repeat("h", size)
		n -= size
	}
	return h
}

// send sends a GET with header and returns the status, or 0 when the
// server cut the upload.
func send(t *testing.T, target string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestHeaderFloodsAreNotKept: requests with ~900 KiB of headers to the API
// (with the control API on, which logs every request), the blob origin and
// the authorization endpoint are refused (431) and recorded nowhere; those
// just under the limit are recorded within byte budgets, and GET
// /_fake/requests answers within its bound.
func TestHeaderFloodsAreNotKept(t *testing.T) {
	s := newServer(t, apitest.Options{Control: true})
	authorizeURL, _ := s.OAuthURLs()
	authorize := authorizeURL + "?response_type=code&client_id=c&redirect_uri=" + url.QueryEscape("http://127.0.0.1:1/cb") +
		"&state=s&code_challenge_method=S256&code_challenge=" + strings.Repeat("a", 43)
	targets := []string{s.BlobURL() + "/exports/x/y.ifc", authorize, s.URL + "/connections?imodelId=m"}
	huge := floodHeaders(900 << 10)
	for _, target := range targets {
		for range 3 {
			if got := send(t, target, huge); got != 0 && got != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("%s with 900 KiB of headers: %d, want 431", target, got)
			}
		}
	}
	if n, b := len(s.Requests()), len(s.BlobRequests()); n != 0 || b != 0 {
		t.Errorf("recorded %d API and %d blob requests of 900 KiB headers, want none", n, b)
	}
	big := floodHeaders(56 << 10)
	for _, target := range targets {
		for range 150 {
			send(t, target, big)
		}
	}
	headerBytes := func(rs []apitest.RecordedRequest) int {
		n := 0
		for _, r := range rs {
			for _, vs := range r.Header {
				for _, v := range vs {
					n += len(v)
				}
			}
		}
		return n
	}
	if n := headerBytes(s.BlobRequests()); n > 4<<20 {
		t.Errorf("the blob origin keeps %d bytes of headers, over 4 MiB", n)
	}
	if n := headerBytes(s.Requests()); n > apitest.DefaultRecordBytes {
		t.Errorf("the API record keeps %d bytes of headers, over %d", n, apitest.DefaultRecordBytes)
	}
	answer := controlCall(t, s, http.MethodGet, "/_fake/requests", "")
	if answer.status != http.StatusOK || len(answer.body) > 12<<20 || !strings.Contains(string(answer.body), `"dropped":`) {
		t.Errorf("GET /_fake/requests: %d, %d bytes; want 200 within 12 MiB", answer.status, len(answer.body))
	}
}

// TestAuthorizeBoundsWhatItKeeps: a redirect_uri over 2048 bytes or a
// login_hint over 256 is refused 400 before a code is kept.
func TestAuthorizeBoundsWhatItKeeps(t *testing.T) {
	s := newServer(t, apitest.Options{})
	authorizeURL, _ := s.OAuthURLs()
	q := url.Values{"response_type": {"code"}, "client_id": {"c"}, "state": {"s"}, "code_challenge_method": {"S256"},
		"code_challenge": {strings.Repeat("a", 43)}, "redirect_uri": {"http://127.0.0.1:1/cb"}}
	if got := send(t, authorizeURL+"?"+q.Encode(), nil); got != http.StatusFound {
		t.Fatalf("a plain request: %d, want 302", got)
	}
	long := q
	long.Set("redirect_uri", "http://127.0.0.1:1/cb?x="+strings.Repeat("r", 2048))
	if got := send(t, authorizeURL+"?"+long.Encode(), nil); got != http.StatusBadRequest {
		t.Errorf("a redirect_uri over 2048 bytes: %d, want 400", got)
	}
	long.Set("redirect_uri", "http://127.0.0.1:1/cb")
	long.Set("login_hint", strings.Repeat("u", 257))
	if got := send(t, authorizeURL+"?"+long.Encode(), nil); got != http.StatusBadRequest {
		t.Errorf("a login_hint over 256 bytes: %d, want 400", got)
	}
}
