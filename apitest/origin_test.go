package apitest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// rawExchange sends one raw HTTP/1.1 request to the server's listener and
// reads the answer: for requests an http.Client would not send as written.
func rawExchange(t *testing.T, s *apitest.Server, request string) response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(s.URL, "/export"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a failure bound, not a wait
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer's body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestLinksNameTheServersOwnOrigin asks with a foreign Host header and an
// absolute-form request URI: every absolute link still names the server's
// own origin.
func TestLinksNameTheServersOwnOrigin(t *testing.T) {
	s := newServer(t, apitest.Options{AbsoluteLocation: true})
	origin := strings.TrimSuffix(s.URL, "/export")
	id := addConnection(s, "m1")
	request := func(method, uri, body string) string {
		return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			method, uri, token, len(body), body)
	}
	for _, form := range []struct{ name, prefix string }{
		{"origin-form with Host evil.example", ""},
		{"absolute-form naming evil.example", "http://evil.example"},
	} {
		t.Run(form.name, func(t *testing.T) {
			var links []string
			created := rawExchange(t, s, request(http.MethodPost, form.prefix+"/export/connections/"+id+"/runs", `{"exportType":"IFC"}`))
			links = append(links, created.header.Get("Location"))

			conn := decode[api.ExportConnectionResponse](t, rawExchange(t, s, request(http.MethodGet, form.prefix+"/export/connections/"+id, ""))).Connection
			links = append(links, conn.Links.LastRun.Href)

			list := decode[api.ExportConnectionsResponse](t, rawExchange(t, s, request(http.MethodGet, form.prefix+"/export/connections?imodelId=m1&$top=1", "")))
			links = append(links, list.Links.Self.Href)

			runs := decode[api.ExportRunsResponse](t, rawExchange(t, s, request(http.MethodGet, form.prefix+"/export/connections/"+id+"/runs?$top=1", "")))
			links = append(links, runs.Links.Self.Href)

			// A second connection of the iModel: the list gains a next link.
			if r := rawExchange(t, s, request(http.MethodPost, form.prefix+"/export/connections", `{"iModelId":"m1"}`)); r.status != http.StatusCreated {
				t.Fatalf("create connection: %d %s", r.status, r.body)
			}
			list = decode[api.ExportConnectionsResponse](t, rawExchange(t, s, request(http.MethodGet, form.prefix+"/export/connections?imodelId=m1&$top=1", "")))
			links = append(links, list.Links.Next.Href)

			for _, link := range links {
				if !strings.HasPrefix(link, origin+"/export/") {
					t.Errorf("link %q does not start with the server's origin %s", link, origin)
				}
			}
		})
	}
}
