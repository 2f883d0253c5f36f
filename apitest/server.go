package apitest

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest/internal/exportserver"
)

// basePath is where the API lives on the server, as on api.bentley.com.
const basePath = "/export"

// Outcome decides how the runs of a connection end.
type Outcome int

const (
	// OutcomeSuccess ends runs with result Success and a task naming the
	// produced file (exportOutputFileId).
	OutcomeSuccess Outcome = iota
	// OutcomePartialSuccess ends runs with result PartialSuccess and a task
	// carrying both a produced file and a task error, as in the reference
	// example.
	OutcomePartialSuccess
	// OutcomeError ends runs with result Error and a task error carrying every
	// field of the reference example (errorCode TAE_BRW_1000, bridgeExitCode
	// -7002, ...).
	OutcomeError
)

// Options configure a Server. The zero value is a server on real time whose
// runs succeed, which accepts any non-empty bearer token and never limits.
type Options struct {
	// Clock tells the server the time; nil means real time.
	Clock Clock
	// StepDuration is how long a run stays in each state before the next;
	// 0 means 1s. A run is Completed five steps after it was created.
	StepDuration time.Duration
	// ProcessingWindow is how long, after a create run is accepted, creates
	// for the same iModel (through any of its connections) answer 409
	// ConflictWithAnotherIModelRequest (measured on Clock); after it they
	// answer 303 to the active run. 0 means no window.
	ProcessingWindow time.Duration
	// AbsoluteLocation makes the Location header of create run absolute
	// (http://127.0.0.1:port/export/connections/{id}/runs/{runId}); by
	// default it is relative (/export/connections/{id}/runs/{runId}).
	AbsoluteLocation bool
	// ValidToken decides which bearer tokens are valid; nil accepts any
	// non-empty token. An invalid token answers 401 InvalidToken; a missing or
	// malformed Authorization header answers 401 HeaderNotFound.
	ValidToken func(token string) bool
	// MayUse decides whether a token may use a connection; nil allows all.
	// When it says no, every operation on that connection answers 403
	// InsufficientPermissions, and connection lists leave it out.
	MayUse func(token, connectionID string) bool
	// DefaultOutcome is how runs end on connections without SetOutcome.
	DefaultOutcome Outcome
	// UserAuthorized makes every user authorized in the authorization
	// information; otherwise a user is once they visited its authorizationUrl.
	UserAuthorized bool
	// RateLimit is how many requests each token may make per RateWindow;
	// 0 means unlimited. Requests over the budget answer 429
	// RateLimitExceeded with Retry-After set to the whole seconds (rounded up,
	// at least 1) until the window ends.
	RateLimit int
	// RateWindow is the length of the rate-limit windows: fixed windows on
	// Clock, each starting at a token's first request after the previous one
	// ended; 0 means 1 minute. Ended windows are forgotten, and at most
	// 10000 tokens have a window at once (beyond, the oldest is forgotten).
	RateWindow time.Duration
	// OnContractViolation, when non-nil, turns on contract validation: every
	// request received and every response sent is checked against
	// openapi.yaml with kin-openapi, and each violation is passed here.
	// A request that breaks the contract is reported only when the server
	// did not refuse it with a 4xx answer (refusing it is the contract's own
	// behaviour). Answers of injected faults are not validated. Tests set it
	// to a func calling t.Errorf.
	OnContractViolation func(error)

	// RecordRequests is how many of the most recent requests Requests
	// keeps; 0 means DefaultRecordRequests, a negative value keeps none.
	RecordRequests int
	// RecordBodyBytes is how much of each request body is recorded; 0 means
	// DefaultRecordBodyBytes (64 KiB), a negative value records no body.
	RecordBodyBytes int
	// RecordBytes bounds the whole record (bodies, headers, URIs): older
	// requests are forgotten while it holds more; 0 means DefaultRecordBytes.
	// The newest request is always kept.
	RecordBytes int
	// KeepConnections is how many connections the server keeps; beyond it,
	// the oldest connection without an active run is forgotten with its runs
	// (it answers 404). 0 means DefaultKeepConnections.
	KeepConnections int
	// UploadBytes bounds the content of uploads the server holds (files
	// being uploaded and uploaded files): a PUT to an upload link that would
	// go beyond it is refused with 413 RequestBodyTooLarge. 0 means
	// DefaultUploadBytes (64 MiB); a negative value refuses every upload.
	UploadBytes int64
	// KeepRuns is how many runs of each connection the server keeps; older
	// ones are forgotten (they answer 404 and lists leave them out). 0 means
	// DefaultKeepRuns.
	KeepRuns int

	// BlobRate caps how fast the blob origin sends each answer's body, in
	// bytes per second per connection (as a link whose round trip limits
	// each TCP connection); 0 means no cap. Answers on several connections
	// go in parallel, each at this rate.
	BlobRate int64
	// BlobFirstByte is how long the blob origin waits before each answer's
	// first byte (a link's latency); 0 means none.
	BlobFirstByte time.Duration

	// ReadHeaderTimeout bounds the time a client may take to send a
	// request's headers; 0 means 10s, a negative value means no limit.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time a client may take to send a whole request,
	// body included; a client that stalls is cut off. 0 means 1 minute, a
	// negative value means no limit.
	ReadTimeout time.Duration
	// IdleTimeout bounds how long an idle keep-alive connection stays open;
	// 0 means 2 minutes, a negative value means no limit.
	IdleTimeout time.Duration
	// OAuth configures the authorization server beside the API (oauth.go).
	OAuth OAuthOptions

	// Control turns on the control API under ControlPrefix (/_fake/): scripted
	// answers, run outcomes, the clock's pace and the requests received, for
	// conformance scenarios in any language. Off, that path answers 404.
	Control bool
}

// Defaults of the listener's timeouts (see Options).
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = time.Minute
	defaultIdleTimeout       = 2 * time.Minute
)

// orDefault returns d, def when d is 0, and 0 (no limit) when d is negative.
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Server is an in-memory Export API behind a real HTTP listener on loopback,
// like httptest.Server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API's base URL, for example "http://127.0.0.1:41234/export".
	URL string

	// origin is the scheme and host of URL: every absolute link the server
	// hands out starts with it, whatever Host a request names.
	origin string

	opts    Options
	handler http.Handler
	srv     *http.Server

	done      chan struct{} // closed by Close: ends hung faults
	serveDone chan struct{} // closed when srv.Serve has returned
	closeOnce sync.Once
	connWG    sync.WaitGroup // one count per open TCP connection

	mu          sync.Mutex
	connections map[string]*connection // by id
	order       []string               // connection ids, oldest first
	outcomes    map[string]Outcome     // by connection id
	runCounts   map[string]int         // runs ever created, by connection id
	forgotten   []string               // ids of forgotten connections, oldest first
	connBytes   int                    // sum of the kept connections' sizes
	recorded    recorder
	faults      []Fault
	rates       map[string]*rateWindow // by token
	rateSweepAt int                    // sweep expired windows at this many
	conns       map[net.Conn]struct{}  // open TCP connections
	accepted    int                    // TCP connections accepted so far
	oauth       *oauthState            // the authorization server's memory
	control     *control               // nil unless Options.Control

	files files       // files added by tests (storage.go)
	blob  *blobOrigin // the second origin, serving file contents (blob.go)
}

// NewServer starts a Server listening on 127.0.0.1 on a free port. It panics
// when it cannot listen, like httptest.NewServer. Call Close when done.
func NewServer(opts Options) *Server {
	s, err := NewServerOn("127.0.0.1:0", opts)
	if err != nil {
		panic(fmt.Sprintf("apitest: cannot listen on a loopback port: %v", err))
	}
	return s
}

// NewServerOn starts a Server listening on addr, such as "127.0.0.1:8080".
// Call Close when done.
func NewServerOn(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("apitest: listen on %s: %w", addr, err)
	}
	s := newServer(opts)
	s.origin = "http://" + ln.Addr().String()
	s.URL = s.origin + basePath
	if err := s.startBlobOrigin(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ConnState:         s.connState,
		ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, defaultReadHeaderTimeout),
		ReadTimeout:       orDefault(opts.ReadTimeout, defaultReadTimeout),
		IdleTimeout:       orDefault(opts.IdleTimeout, defaultIdleTimeout),
		MaxHeaderBytes:    maxHeaderBytes,
	}
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// newServer builds a Server with its handler and no listener.
func newServer(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.StepDuration <= 0 {
		opts.StepDuration = time.Second
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Minute
	}
	s := &Server{
		opts:        opts,
		done:        make(chan struct{}),
		serveDone:   make(chan struct{}),
		connections: map[string]*connection{},
		outcomes:    map[string]Outcome{},
		runCounts:   map[string]int{},
		recorded:    newRecorder(opts),
		rates:       map[string]*rateWindow{},
		rateSweepAt: minRateSweep,
		conns:       map[net.Conn]struct{}{},
	}
	s.blob = newBlobOrigin(s)
	s.handler = s.withControl(s.withOAuth(s.chain(s.routes())))
	return s
}

// routes mounts every route the server answers on one mux: a service added
// to the fake is mounted here, under its own base path.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", notFound)
	s.mountStorage(mux)
	return exportserver.HandlerWithOptions(service{s: s}, exportserver.StdHTTPServerOptions{
		BaseURL:          basePath,
		BaseRouter:       mux,
		ErrorHandlerFunc: paramError,
	})
}

// chain wraps the API's routes in the server's middleware: record, faults,
// contract validation, authentication, rate limit.
func (s *Server) chain(routes http.Handler) http.Handler {
	return s.record(s.injectFaults(s.validate(s.authenticate(s.limitRate(routes)))))
}

// connState counts and tracks the TCP connections of the listener, so that
// Close can close them all and wait for them.
func (s *Server) connState(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.accepted++
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
	case http.StateClosed:
		s.forgetConnLocked(c)
	}
	// A hijacked connection is forgotten by the fault that hijacked it, once
	// done with it, so that Close waits for that handler too.
}

// forgetConn stops tracking a connection that is closed.
func (s *Server) forgetConn(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetConnLocked(c)
}

func (s *Server) forgetConnLocked(c net.Conn) {
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.connWG.Done()
	}
}

// Close stops the listener, ends hung requests, closes every connection and
// waits until they are gone. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeControl()
		s.closeBlobOrigin()
		if s.srv == nil {
			return
		}
		_ = s.srv.Close()
		<-s.serveDone // no connection can be accepted any more
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.connWG.Wait()
	})
}

// Handler returns the server's whole handler (routes and middleware), to
// mount the fake API in another server; its routes live under /export. The
// absolute links it hands out still name this server's own listener.
func (s *Server) Handler() http.Handler { return s.handler }

// AddConnection creates a connection directly, without HTTP, and returns it.
// A connection without authenticationType gets User.
func (s *Server) AddConnection(c api.ExportConnectionCreate) api.ExportConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addConnectionLocked(c).render("")
}

// SetOutcome decides how runs of the connection created from now on end.
func (s *Server) SetOutcome(connectionID string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[connectionID] = o
}

// RunCount returns how many runs were ever created for the connection, also
// after it was deleted; it reads 0 again once KeepConnections more
// connections were forgotten after it.
func (s *Server) RunCount(connectionID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runCounts[connectionID]
}

// ConnectionsAccepted returns how many TCP connections the server has
// accepted so far; clients that reuse connections keep it low.
func (s *Server) ConnectionsAccepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// InjectFault makes the next f.Count requests matching f answer as f says,
// before authentication. Faults are matched in the order they were injected.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	f.Header = f.Header.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}
