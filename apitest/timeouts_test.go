package apitest_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
)

// failAfter bounds how long a test waits for the server to act: reaching it
// is a failure, never the expected outcome.
const failAfter = 10 * time.Second

// dial opens a TCP connection to the server's listener.
func dial(t *testing.T, s *apitest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(s.URL, "/export"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(failAfter))
	return conn
}

// wantClosed reads until the server closes the connection and returns what
// it sent; it fails when the server still holds it after failAfter.
func wantClosed(t *testing.T, conn net.Conn) string {
	t.Helper()
	got, err := io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server still held the connection after %s (sent %q)", failAfter, got)
	}
	return string(got)
}

// TestSlowClientsAreCutOff stalls a request's body, its headers, and an idle
// keep-alive connection: the server's timeouts (set short through Options)
// close each.
func TestSlowClientsAreCutOff(t *testing.T) {
	const short = 50 * time.Millisecond
	s := newServer(t, apitest.Options{ReadTimeout: short, ReadHeaderTimeout: short, IdleTimeout: short})
	id := addConnection(s, "m1")

	t.Run("body stalls", func(t *testing.T) {
		conn := dial(t, s)
		_, _ = io.WriteString(conn, "POST /export/connections/"+id+"/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+
			"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"exportType\"")
		answer := wantClosed(t, conn)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
		if err != nil {
			t.Fatalf("no answer before the close: %v (%q)", err, answer)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		wantError(t, response{status: resp.StatusCode, header: resp.Header, body: body},
			http.StatusUnprocessableEntity, "InvalidConnectionRunRequest", "Cannot perform operation.",
			d("InvalidRequestBody", "Request body could not be read.", ""))
		if n := s.RunCount(id); n != 0 {
			t.Errorf("RunCount = %d after a cut-off body", n)
		}
	})
	t.Run("headers stall", func(t *testing.T) {
		conn := dial(t, s)
		_, _ = io.WriteString(conn, "GET /export/connections?imodelId=m1 HTTP/1.1\r\nHost: x\r\n")
		wantClosed(t, conn)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dial(t, s)
		_, _ = io.WriteString(conn, "GET /export/connections?imodelId=m1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+"\r\n\r\n")
		rd := bufio.NewReader(conn)
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("first answer: %d, close %v; want 200 keeping the connection", resp.StatusCode, resp.Close)
		}
		if rest, err := io.ReadAll(rd); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the idle connection was still open after %s (sent %q)", failAfter, rest)
		}
	})
}
