package apitest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sasLifetime is how long a download link works, on the server's Clock.
const sasLifetime = time.Hour

// maxBlobRecords is how many requests the blob origin remembers: the last
// ones, within maxBlobRecordBytes, so that a long-running fake stays
// bounded.
const (
	maxBlobRecords     = 512
	maxBlobRecordBytes = 4 << 20
)

// blobOrigin serves file contents on a second loopback listener, as Azure
// Blob Storage does for iTwin Storage: requests authenticate by a signed
// query (a SAS), and one that also carries an Authorization header is
// refused.
type blobOrigin struct {
	s    *Server
	key  []byte // signs links
	base string // scheme and host, "http://127.0.0.1:PORT"

	srv       *http.Server
	serveDone chan struct{}
	handlers  sync.WaitGroup // one count per request being answered

	mu      sync.Mutex
	records recorder // the last requests, within maxBlobRecords and maxBlobRecordBytes
	faults  []BlobFault
	md5s    map[string]string // base64 MD5 by ETag (blob_content.go)
}

// startBlobOrigin opens the blob origin's listener on a free loopback port.
func (s *Server) startBlobOrigin() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("apitest: listen for the blob origin: %w", err)
	}
	b := s.blob
	b.base = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
	b.serveDone = make(chan struct{})
	go func() {
		defer close(b.serveDone)
		_ = b.srv.Serve(ln)
	}()
	return nil
}

// closeBlobOrigin stops the blob origin and waits for its requests.
func (s *Server) closeBlobOrigin() {
	b := s.blob
	if b.srv == nil {
		return
	}
	_ = b.srv.Close()
	<-b.serveDone
	b.handlers.Wait()
}

// newBlobOrigin returns the blob origin of s, not listening yet.
func newBlobOrigin(s *Server) *blobOrigin {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &blobOrigin{s: s, key: key, records: newRecorder(Options{RecordRequests: maxBlobRecords, RecordBytes: maxBlobRecordBytes, RecordBodyBytes: -1})}
}

// BlobURL returns the scheme and host of the origin that serves file
// contents (download links point there), or "" when it is not listening.
func (s *Server) BlobURL() string { return s.blob.base }

// BlobRequests returns a copy of the last requests the blob origin received
// (at most 512), oldest first. Their URIs hold signatures: do not log them.
func (s *Server) BlobRequests() []RecordedRequest {
	b := s.blob
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records.all()
}

// blobPath is the escaped path of a file's content on the blob origin.
func blobPath(f *storedFile) string {
	return "/exports/" + url.PathEscape(f.id) + "/" + escapedName(f.displayName)
}

// link returns a signed read URL of the file's content, valid for
// sasLifetime from now.
func (b *blobOrigin) link(f *storedFile, now time.Time) (string, error) {
	return b.signedURL(blobPath(f), "r", now)
}

// signedURL returns a SAS URL of the blob at path (escaped) with the
// permissions perm, valid for sasLifetime from now.
func (b *blobOrigin) signedURL(path, perm string, now time.Time) (string, error) {
	if b.base == "" {
		return "", errors.New("the blob origin is not listening")
	}
	se := now.Add(sasLifetime).UTC().Format(time.RFC3339)
	q := "sv=2024-08-04&se=" + url.QueryEscape(se) + "&sr=b&sp=" + perm + "&sig=" + url.QueryEscape(b.sign(path, se))
	return b.base + path + "?" + q, nil
}

// sign is the signature of a path and expiry.
func (b *blobOrigin) sign(path, expiry string) string {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte(path + "\n" + expiry))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// record keeps r, forgetting the oldest records beyond maxBlobRecords or
// maxBlobRecordBytes.
func (b *blobOrigin) record(r *http.Request) {
	rec := RecordedRequest{Method: r.Method, URI: r.RequestURI, Path: r.URL.EscapedPath(), Header: r.Header.Clone()}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.records.add(rec)
}

// Azure's words for the refusals the blob origin answers.
const (
	msgBothSchemes     = "The request has both SAS authentication scheme and 'Bearer' authorization scheme. Only one scheme should be used."
	msgAuthFailed      = "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
	msgBlobMissing     = "The specified blob does not exist."
	msgBadRange        = "The range specified is invalid for the current size of the resource."
	msgBusy            = "The server is currently unable to receive requests. Please retry your request."
	msgConditionNotMet = "The condition specified using HTTP conditional header(s) is not met."
)

// blobError answers with status and an error body in Azure Storage's XML.
func blobError(w http.ResponseWriter, status int, code, message, detail string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	body := `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code + `</Code><Message>` + message + `</Message>`
	if detail != "" {
		body += `<AuthenticationErrorDetail>` + detail + `</AuthenticationErrorDetail>`
	}
	_, _ = w.Write([]byte(body + "</Error>"))
}

// serve answers one request for a file's content.
func (b *blobOrigin) serve(w http.ResponseWriter, r *http.Request) {
	b.handlers.Add(1)
	defer b.handlers.Done()
	b.record(r)
	if r.Header.Get("Authorization") != "" {
		blobError(w, http.StatusBadRequest, "InvalidAuthenticationInfo", msgBothSchemes, "")
		return
	}
	if isUpload(r.URL.Path) {
		if ok, detail := b.authorized(r); !ok {
			blobError(w, http.StatusForbidden, "AuthenticationFailed", msgAuthFailed, detail)
			return
		}
		b.serveUpload(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		blobError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.", "")
		return
	}
	if ok, detail := b.authorized(r); !ok {
		blobError(w, http.StatusForbidden, "AuthenticationFailed", msgAuthFailed, detail)
		return
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/exports/"), "/")
	f := b.s.findFile(id)
	if f == nil || r.URL.EscapedPath() != blobPath(f) {
		blobError(w, http.StatusNotFound, "BlobNotFound", msgBlobMissing, "")
		return
	}
	fault, faulty := b.takeFault(id)
	switch {
	case faulty && fault.Kind == BlobExpired:
		blobError(w, http.StatusForbidden, "AuthenticationFailed", msgAuthFailed, "Signature not valid in the specified time frame.")
		return
	case faulty && fault.Kind == BlobBusy:
		w.Header().Set("Retry-After", strconv.Itoa(int(fault.Delay/time.Second)))
		blobError(w, http.StatusServiceUnavailable, "ServerBusy", msgBusy, "")
		return
	}
	b.serveContent(w, r, f, fault, faulty)
}

// authorized checks the signed query: a signature of the path and expiry,
// and an expiry still ahead on the server's Clock.
func (b *blobOrigin) authorized(r *http.Request) (bool, string) {
	q := r.URL.Query()
	se, sig := q.Get("se"), q.Get("sig")
	if sig == "" || se == "" {
		return false, "Signature fields not well formed."
	}
	if !hmac.Equal([]byte(sig), []byte(b.sign(r.URL.EscapedPath(), se))) {
		return false, "Signature did not match."
	}
	expiry, err := time.Parse(time.RFC3339, se)
	if err != nil {
		return false, "Signature fields not well formed."
	}
	if now := b.s.opts.Clock.Now(); !now.Before(expiry) {
		return false, fmt.Sprintf("Signature not valid in the specified time frame: Expiry [%s] - Current [%s]",
			expiry.Format(http.TimeFormat), now.UTC().Format(http.TimeFormat))
	}
	return true, ""
}
