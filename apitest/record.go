package apitest

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// Defaults of the request record, so that a server left running for days,
// or flooded by clients that never authenticate, keeps a bounded window.
const (
	// DefaultRecordRequests is how many requests Requests keeps when
	// Options.RecordRequests is 0.
	DefaultRecordRequests = 1000
	// DefaultRecordBodyBytes is how much of each body is kept when
	// Options.RecordBodyBytes is 0.
	DefaultRecordBodyBytes = 64 << 10
	// DefaultRecordBytes is the budget of the whole record when
	// Options.RecordBytes is 0.
	DefaultRecordBytes = 8 << 20
)

// maxHeaderBytes bounds the request line and headers the fake's listeners
// (API, blob origin, foreign origin) read of one request: beyond it, net/http
// answers 431 and nothing is recorded. Real clients send a few KiB.
const maxHeaderBytes = 64 << 10

// RecordedRequest is a request as the server received it. Every request is
// recorded on arrival, before faults, contract validation, authentication and
// rate limiting, so that a test sees what a client sent even when the server
// refused it (a missing token, a fault's answer); the record is a bounded
// window, so recording refused clients costs no more than recording others.
type RecordedRequest struct {
	// Method is the HTTP method.
	Method string
	// URI is r.RequestURI exactly as received: escaped path and query.
	URI string
	// Path is the escaped path (r.URL.EscapedPath()).
	Path string
	// Header is a copy of the request headers.
	Header http.Header
	// Body is the start of the request body: at most Options.RecordBodyBytes
	// bytes of it (64 KiB by default); nil when there was none.
	Body []byte
	// BodyOmitted is how many bytes of the body Body leaves out: 0 when Body
	// is the whole body; the rest of the declared Content-Length when Body
	// was cut or the client sent less; -1 when a body sent without a length
	// (chunked) was cut.
	BodyOmitted Omitted
}

// Omitted counts the bytes of a request body that the record leaves out
// (see RecordedRequest.BodyOmitted). Its String form says so in words, so
// that a printed record reads well in a test failure.
type Omitted int64

// String says how much of the body was left out.
func (o Omitted) String() string {
	switch {
	case o == 0:
		return "whole body"
	case o < 0:
		return "body cut, length unknown"
	}
	return strconv.FormatInt(int64(o), 10) + " bytes of body omitted"
}

// size is about how many bytes the record of r holds.
func (r *RecordedRequest) size() int {
	n := len(r.Method) + len(r.URI) + len(r.Path) + len(r.Body)
	for k, vs := range r.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// recorder keeps the most recent requests in a ring, within a count and a
// byte budget. The Server's mutex guards it.
type recorder struct {
	ring      []RecordedRequest // capacity: the count limit
	head, n   int               // oldest entry and number of entries
	bytes     int               // sum of the entries' sizes
	maxBytes  int
	bodyBytes int // how much of a body is kept; 0 keeps none
}

// newRecorder builds the record that opts describe.
func newRecorder(opts Options) recorder {
	count := opts.RecordRequests
	if count == 0 {
		count = DefaultRecordRequests
	}
	rec := recorder{ring: make([]RecordedRequest, max(count, 0)), maxBytes: opts.RecordBytes, bodyBytes: opts.RecordBodyBytes}
	if rec.maxBytes == 0 {
		rec.maxBytes = DefaultRecordBytes
	}
	if rec.bodyBytes == 0 {
		rec.bodyBytes = DefaultRecordBodyBytes
	}
	rec.bodyBytes = max(rec.bodyBytes, 0)
	return rec
}

// add keeps r, forgetting the oldest entries while the record is over its
// count or byte budget. The newest entry is always kept.
func (rec *recorder) add(r RecordedRequest) {
	if len(rec.ring) == 0 {
		return
	}
	if rec.n == len(rec.ring) {
		rec.dropOldest()
	}
	rec.ring[(rec.head+rec.n)%len(rec.ring)] = r
	rec.n++
	rec.bytes += r.size()
	for rec.bytes > rec.maxBytes && rec.n > 1 {
		rec.dropOldest()
	}
}

// dropOldest forgets the oldest entry and releases its memory.
func (rec *recorder) dropOldest() {
	rec.bytes -= rec.ring[rec.head].size()
	rec.ring[rec.head] = RecordedRequest{}
	rec.head = (rec.head + 1) % len(rec.ring)
	rec.n--
}

// all returns deep copies of the entries, oldest first.
func (rec *recorder) all() []RecordedRequest {
	out := make([]RecordedRequest, rec.n)
	for i := range out {
		r := rec.ring[(rec.head+i)%len(rec.ring)]
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// reset forgets every entry.
func (rec *recorder) reset() {
	clear(rec.ring)
	rec.head, rec.n, rec.bytes = 0, 0, 0
}

// Requests returns a copy of the requests received most recently, oldest
// first: the last Options.RecordRequests of them (1000 by default), fewer
// when their sizes add up to more than Options.RecordBytes.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorded.all()
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded.reset()
}

// record keeps a bounded copy of every request on arrival.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := RecordedRequest{
			Method: r.Method,
			URI:    r.RequestURI,
			Path:   r.URL.EscapedPath(),
			Header: r.Header.Clone(),
		}
		// s.recorded.bodyBytes is fixed at construction: no lock needed.
		body := r.Body
		rec.Body, rec.BodyOmitted = peekPrefix(r, s.recorded.bodyBytes)
		s.mu.Lock()
		s.recorded.add(rec)
		s.mu.Unlock()
		next.ServeHTTP(w, r)
		// net/http keeps the request for a while after a connection whose
		// body was left unread (to close it gently): drop the peeked bytes.
		r.Body = body
	})
}

// peekPrefix reads at most n+1 bytes of the request body and puts them
// back, so that later handlers read the body whole. It returns a copy of the
// first n bytes (nil for no body) and how many bytes of the body they leave
// out, as RecordedRequest.BodyOmitted says.
func peekPrefix(r *http.Request, n int) ([]byte, Omitted) {
	body := peek(r, n+1)
	prefix := body[:min(len(body), n)]
	var omitted Omitted
	switch {
	case r.ContentLength > 0:
		omitted = Omitted(r.ContentLength - int64(len(prefix)))
	case len(body) > n:
		omitted = -1
	}
	if len(prefix) == 0 {
		return nil, omitted
	}
	return bytes.Clone(prefix), omitted
}

// peek reads at most n bytes of the request body and puts them back in front
// of the rest. It returns them, nil when there are none.
func peek(r *http.Request, n int) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	// Size the buffer from Content-Length when it is declared, so that a
	// large body is read into one allocation rather than a growing series.
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, int64(n))) + bytes.MinRead)
	}
	_, _ = buf.ReadFrom(io.LimitReader(r.Body, int64(n)))
	body := buf.Bytes()
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if len(body) == 0 {
		return nil
	}
	return body
}
