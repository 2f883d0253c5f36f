package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestMemoryStaysBoundedUnderUnauthenticatedUploads sends 300 unauthenticated
// 1 MiB bodies through the server's handler: what the server keeps of them
// (its request record) and its heap after a collection stay small.
func TestMemoryStaysBoundedUnderUnauthenticatedUploads(t *testing.T) {
	s := newServer(t, apitest.Options{})
	body := strings.Repeat("x", 1<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 300 {
		req := httptest.NewRequest(http.MethodPost, "/export/connections/c1/runs", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("unauthenticated upload answered %d", rec.Code)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	requests := s.Requests()
	kept := 0
	for _, r := range requests {
		kept += len(r.Body)
		if len(r.Body) > 64<<10 {
			t.Fatalf("a recorded body holds %d bytes, want at most 64 KiB", len(r.Body))
		}
	}
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("after 300 unauthenticated 1 MiB uploads: %d requests recorded holding %d KiB of bodies; heap grew %d KiB",
		len(requests), kept>>10, growth>>10)
	if kept > 16<<20 {
		t.Errorf("the record holds %d MiB of bodies, want at most 16 MiB", kept>>20)
	}
	if growth > 32<<20 {
		t.Errorf("the heap grew by %d MiB, want at most 32 MiB", growth>>20)
	}
}
