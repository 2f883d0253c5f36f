package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/itwin-export/itwin-export/api"
)

// FaultKind says how a Fault answers.
type FaultKind int

const (
	// FaultStatus answers with Fault.Status and a body chosen by Fault.Body.
	FaultStatus FaultKind = iota
	// FaultHang never answers: the request is held until the client's request
	// context ends or the server closes, then its connection is closed.
	FaultHang
	// FaultDrop closes the TCP connection without answering.
	FaultDrop
)

// FaultBody says what body a FaultStatus answer carries.
type FaultBody int

const (
	// FaultBodyAPIError is a JSON error response of the API's own schema, with a
	// code named after the status (500 answers "InternalServerError").
	FaultBodyAPIError FaultBody = iota
	// FaultBodyHTML is a small HTML page, as a gateway in front of the API
	// might send.
	FaultBodyHTML
	// FaultBodyEmpty is no body at all.
	FaultBodyEmpty
	// FaultBodyJSON is Fault.JSON as it is, as application/json.
	FaultBodyJSON
)

// Fault makes the server misbehave on purpose for the next matching requests.
// Faults are checked before authentication, in the order they were injected,
// and their answers are not validated against the contract.
type Fault struct {
	// Method is the HTTP method to match; "" matches any.
	Method string
	// Path is matched against the unescaped request path with path.Match, so
	// "/export/connections/*/runs" matches the runs of every connection;
	// "" matches any path.
	Path string
	// Count is how many matching requests the fault answers; <= 0 means 1.
	Count int
	// Kind says how the fault answers.
	Kind FaultKind
	// Status is the status code of a FaultStatus answer; 0 means 500.
	Status int
	// Body is the body of a FaultStatus answer.
	Body FaultBody
	// Header holds extra headers of a FaultStatus answer, such as Retry-After
	// or Location.
	Header http.Header
	// JSON is the body of a FaultBodyJSON answer: a page whose links lead
	// elsewhere, a run in a state the contract lacks.
	JSON []byte
}

// matches reports whether the fault applies to r.
func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Path == "" {
		return true
	}
	ok, err := path.Match(f.Path, r.URL.Path)
	return ok && err == nil
}

// takeFault returns the first injected fault matching r and uses up one of
// its answers.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(r) {
			continue
		}
		s.faults[i].Count--
		if s.faults[i].Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f, true
	}
	return Fault{}, false
}

// serveFault answers r as f says.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	switch f.Kind {
	case FaultHang:
		// Read the body so that the server notices when the client goes away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		s.dropConnection(w)
	case FaultDrop:
		s.dropConnection(w)
	default:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		for k, vs := range f.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		var body []byte
		switch f.Body {
		case FaultBodyHTML:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			text := http.StatusText(status)
			body = []byte("<html><head><title>" + text + "</title></head><body><h1>" + text + "</h1></body></html>\n")
		case FaultBodyEmpty:
			w.Header().Set("Content-Length", "0")
		case FaultBodyJSON:
			w.Header().Set("Content-Type", "application/json")
			body = f.JSON
		default:
			w.Header().Set("Content-Type", "application/json")
			body, _ = json.Marshal(api.ErrorResponse{Error: api.Error{
				Code:    statusCode(status),
				Message: strings.TrimSpace(strconv.Itoa(status)+" "+http.StatusText(status)) + ".",
			}})
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// statusCode names an error code after an HTTP status: "InternalServerError"
// for 500, "TooManyRequests" for 429.
func statusCode(status int) string {
	text := strings.ReplaceAll(http.StatusText(status), " ", "")
	text = strings.ReplaceAll(text, "-", "")
	if text == "" {
		return "Error"
	}
	return text
}

// dropConnection closes the client's connection without an answer.
func (s *Server) dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			s.forgetConn(conn)
			return
		}
	}
	// Not an HTTP/1 connection: abort the response, which net/http does
	// without writing one.
	panic(http.ErrAbortHandler)
}
