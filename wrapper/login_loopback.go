package wrapper

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// loopbackPage is what the loopback listener answers the browser: a status
// and a short text, and whether the flow it serves is over.
type loopbackPage struct {
	status int
	text   string
	done   bool
	plain  bool // text/plain: a refusal echoes nothing and renders nothing
}

// loopbackMaxHeaderBytes bounds what the listener reads of one request: its
// request line and headers (a redirect's query is a few hundred bytes). It
// never reads a body.
const loopbackMaxHeaderBytes = 16 << 10

// loopback is a one-purpose HTTP listener on 127.0.0.1 that receives the
// browser coming back from a sign-in or an authorization page. Each visit of
// its path is judged by judge, which picks the page; the query of a visit
// that ends the flow is handed to Next.
type loopback struct {
	url    string // http://127.0.0.1:PORT/path
	srv    *http.Server
	served chan struct{}
	visits chan url.Values
	once   sync.Once
}

// listenLoopback starts a loopback listener on port (0: a free one) serving
// path.
func listenLoopback(port int, path string, judge func(url.Values) loopbackPage) (*loopback, error) {
	if port < 0 || port > 65535 {
		return nil, &ValidationError{Problems: []Problem{{Field: "Port", Message: "must be between 0 and 65535"}}}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listening for the browser on 127.0.0.1:%d: %w", port, err)
	}
	l := &loopback{
		url:    "http://" + ln.Addr().String() + path,
		served: make(chan struct{}),
		visits: make(chan url.Values, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		page := judge(r.URL.Query())
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the code
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if page.plain {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(page.status)
			fmt.Fprintf(w, "%s\n", page.text)
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(page.status)
			fmt.Fprintf(w, "<!doctype html><title>itwin-export</title><p>%s</p>\n", html.EscapeString(page.text))
		}
		if page.done {
			select {
			case l.visits <- r.URL.Query():
			default: // the flow already has its answer
			}
		}
	})
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: loopbackMaxHeaderBytes}
	go func() {
		defer close(l.served)
		_ = l.srv.Serve(ln)
	}()
	return l, nil
}

// next waits for a visit that ends the flow, or for ctx to end.
func (l *loopback) next(ctx context.Context) (url.Values, error) {
	select {
	case q := <-l.visits:
		return q, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// close lets the page being answered finish, then stops the listener and
// waits until it is gone. It may be called more than once.
func (l *loopback) close() error {
	var err error
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = l.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			err = l.srv.Close()
		}
		<-l.served
	})
	return err
}
