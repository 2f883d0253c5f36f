package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// downloadRequests counts the fake's requests for download links.
func downloadRequests(fake *apitest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/download") {
			n++
		}
	}
	return n
}

// TestDownloadRateLimited: a 429 on /download is retried after its
// Retry-After; one beyond the client's cap comes back at once, classified
// and carrying the wait.
func TestDownloadRateLimited(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddFile("a.ifc", []byte("content"))
	fake.InjectFault(apitest.Fault{Path: "/storage/files/*/download", Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}})
	if _, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{}); err != nil {
		t.Fatalf("after a 429 with Retry-After 0: %v", err)
	}
	if n := downloadRequests(fake); n != 2 {
		t.Errorf("%d /download requests, want 2 (the 429 and its retry)", n)
	}
	fake.ResetRequests()
	fake.InjectFault(apitest.Fault{Path: "/storage/files/*/download", Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3600"}}})
	_, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{})
	var apiErr *wrapper.APIError
	if !errors.Is(err, wrapper.ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.RetryAfter != time.Hour {
		t.Errorf("err = %v, want ErrRateLimited carrying a one-hour wait", err)
	}
	if n := downloadRequests(fake); n != 1 {
		t.Errorf("%d /download requests, want 1: a wait past the cap is not slept on", n)
	}
}

// TestDownloadExpiredLink: a blob 403 gets one fresh link; a second 403 is
// ErrForbidden.
func TestDownloadExpiredLink(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddFile("a.ifc", []byte("content"))
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobExpired})
	if _, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{}); err != nil {
		t.Fatalf("after one expired link: %v", err)
	}
	if n := downloadRequests(fake); n != 2 {
		t.Errorf("%d /download requests, want 2", n)
	}
	fake.ResetRequests()
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobExpired, Count: 2})
	dir := t.TempDir()
	_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "a.ifc"), wrapper.DownloadOptions{})
	var apiErr *wrapper.APIError
	if !errors.Is(err, wrapper.ErrForbidden) || !errors.As(err, &apiErr) || apiErr.Code != "AuthenticationFailed" {
		t.Errorf("err = %v, want ErrForbidden with the blob store's code", err)
	}
	if n := downloadRequests(fake); n != 2 || len(entries(t, dir)) != 0 {
		t.Errorf("%d /download requests (want 2), left behind %v", n, entries(t, dir))
	}
}

// TestDownloadCancelRemovesTemporaryFile: cancelling mid-transfer ends the
// download with the context's error and leaves no file at all.
func TestDownloadCancelRemovesTemporaryFile(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 1<<20)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobStall, After: 100_000})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	sawTemp := false
	_, err := c.DownloadFileInto(ctx, id, dir, wrapper.DownloadOptions{Progress: func(done, _ int64) {
		if done == 100_000 {
			names := entries(t, dir)
			sawTemp = len(names) == 1 && strings.HasSuffix(names[0], ".part")
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if !sawTemp {
		t.Error("no temporary file while downloading")
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// TestDownloadCancelDuringBackgroundSync: a download cancelled after the
// temporary file's background syncs began (16 MiB and more written) ends
// with the cancellation and leaves no file, and no goroutine for the leak
// check of TestMain (that it waits for a sync still running is
// TestDurable_WaitBeforeClose, in internal/partfile).
func TestDownloadCancelDuringBackgroundSync(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	const size = 48 << 20
	id := fake.AddPatternFile("big.ifc", size)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	var once sync.Once
	_, err := c.DownloadFileInto(ctx, id, dir, wrapper.DownloadOptions{Progress: func(done, _ int64) {
		if done >= 40<<20 {
			once.Do(cancel)
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// TestDownloadStallResumes: a transfer that stops moving is ended after
// StallTimeout and resumed.
func TestDownloadStallResumes(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 200_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobStall, After: 50_000})
	got, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{StallTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(got.Path)
	if !bytes.Equal(content, pattern(200_000)) {
		t.Error("content differs after the stall")
	}
	if blob := fake.BlobRequests(); len(blob) != 2 || blob[1].Header.Get("Range") != "bytes=50000-" {
		t.Errorf("%d blob requests; want 2, the second from byte 50000", len(blob))
	}
}

// TestDownloadLogsNoSignature: the debug log of a download (with a resume)
// names every exchange, the blob's included, with its signature redacted.
func TestDownloadLogsNoSignature(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	var log bytes.Buffer
	var mu sync.Mutex
	c := newClient(t, fake.URL, func(o *wrapper.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&lockedBuffer{mu: &mu, b: &log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	id := fake.AddPatternFile("a.ifc", 100_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 1000})
	if _, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(fake.BlobRequests()[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get("sig")
	mu.Lock()
	text := log.String()
	mu.Unlock()
	for _, s := range []string{sig, url.QueryEscape(sig)} {
		if strings.Contains(text, s) {
			t.Error("the log holds the signature")
		}
	}
	if got := strings.Count(text, "op=downloadContent"); got != 2 || !strings.Contains(text, "sig=REDACTED") || !strings.Contains(text, "resuming download") {
		t.Errorf("log: %d blob exchanges (want 2), redaction or resume missing", got)
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestDownloadBlobBusy: a 503 of the blob store is retried after its
// Retry-After; one past the client's cap ends the download at once with
// ErrServer.
func TestDownloadBlobBusy(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddFile("a.ifc", []byte("content"))
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobBusy})
	if _, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{}); err != nil {
		t.Fatalf("after one 503: %v", err)
	}
	if n := len(fake.BlobRequests()); n != 2 {
		t.Errorf("%d blob requests, want 2", n)
	}
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobBusy, Delay: time.Hour})
	dir := t.TempDir()
	_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "a.ifc"), wrapper.DownloadOptions{})
	var apiErr *wrapper.APIError
	if !errors.Is(err, wrapper.ErrServer) || !errors.As(err, &apiErr) || apiErr.Code != "ServerBusy" || apiErr.RetryAfter != time.Hour {
		t.Errorf("err = %v, want ErrServer ServerBusy carrying the hour", err)
	}
	if n := len(fake.BlobRequests()); n != 3 || len(entries(t, dir)) != 0 {
		t.Errorf("%d blob requests in all (want 3), left behind %v", n, entries(t, dir))
	}
}
