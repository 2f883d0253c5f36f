package apitest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestScriptStopsWhenTheClientLeaves: a script whose files take long to
// prepare stops as soon as its request's context ends, and loads nothing:
// no file, no connection.
func TestScriptStopsWhenTheClientLeaves(t *testing.T) {
	s := NewServer(Options{Control: true})
	t.Cleanup(s.Close)
	body := `{"connections":[{"iModelId":"m"}],"files":[{"name":"f","displayName":"f.ifc","size":67108864},` +
		`{"name":"g","displayName":"g.ifc","size":67108864}]}`
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client is gone before the work starts
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/_fake/script", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.control.handleScript(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503: %s", rec.Code, rec.Body)
	}
	s.files.mu.Lock()
	files := len(s.files.added)
	s.files.mu.Unlock()
	s.mu.Lock()
	conns := len(s.connections)
	s.mu.Unlock()
	if files != 0 || conns != 0 {
		t.Errorf("%d files and %d connections loaded, want none", files, conns)
	}
}
