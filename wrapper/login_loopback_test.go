package wrapper

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// visitsJudged is a judge that records the queries it was asked about and
// answers by the query's "page": "refuse" a plain 400, "done" a page that
// ends the flow, anything else a page that does not.
type visitsJudged struct {
	mu      sync.Mutex
	queries []string
}

func (j *visitsJudged) judge(q url.Values) loopbackPage {
	j.mu.Lock()
	j.queries = append(j.queries, q.Encode())
	j.mu.Unlock()
	switch q.Get("page") {
	case "refuse":
		return loopbackPage{status: http.StatusBadRequest, plain: true, text: "refused <b>"}
	case "done":
		return loopbackPage{status: http.StatusOK, done: true, text: "done <b> & gone"}
	}
	return loopbackPage{status: http.StatusOK, text: "waiting"}
}

func (j *visitsJudged) judged() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.queries...)
}

// listenJudged starts a loopback listener on a free port serving /callback,
// judged by a new visitsJudged, and closes it when the test ends.
func listenJudged(t *testing.T) (*loopback, *visitsJudged) {
	t.Helper()
	j := &visitsJudged{}
	l, err := listenLoopback(0, "/callback", j.judge)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.close() })
	return l, j
}

// loopbackAnswer is what the browser sees of one visit.
type loopbackAnswer struct {
	Status                                                   int
	ContentType, CacheControl, ReferrerPolicy, NoSniff, Body string
}

func visit(t *testing.T, method, u string, header http.Header) loopbackAnswer {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return loopbackAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"),
		resp.Header.Get("Referrer-Policy"), resp.Header.Get("X-Content-Type-Options"), string(body)}
}

// TestListenLoopback_AnswersEachVisitAndHandsOverTheFirstThatEnds: every GET
// of the path is judged; a refusal is a plain-text page, any other page is
// HTML with the text escaped, both uncacheable and sent with no referrer;
// the query of the first visit that ends the flow is what next returns, and
// a later one does not block the browser. Other methods and paths are not
// judged.
func TestListenLoopback_AnswersEachVisitAndHandsOverTheFirstThatEnds(t *testing.T) {
	l, j := listenJudged(t)
	if !strings.HasPrefix(l.url, "http://127.0.0.1:") || !strings.HasSuffix(l.url, "/callback") {
		t.Fatalf("url %q, want http://127.0.0.1:PORT/callback", l.url)
	}

	plain := loopbackAnswer{http.StatusBadRequest, "text/plain; charset=utf-8", "no-store", "no-referrer", "nosniff", "refused <b>\n"}
	if diff := cmp.Diff(plain, visit(t, http.MethodGet, l.url+"?page=refuse&state=forged", nil)); diff != "" {
		t.Errorf("refused visit (-want +got):\n%s", diff)
	}
	waiting := loopbackAnswer{http.StatusOK, "text/html; charset=utf-8", "no-store", "no-referrer", "nosniff",
		"<!doctype html><title>itwin-export</title><p>waiting</p>\n"}
	if diff := cmp.Diff(waiting, visit(t, http.MethodGet, l.url+"?page=wait", nil)); diff != "" {
		t.Errorf("visit that does not end the flow (-want +got):\n%s", diff)
	}
	done := loopbackAnswer{http.StatusOK, "text/html; charset=utf-8", "no-store", "no-referrer", "nosniff",
		"<!doctype html><title>itwin-export</title><p>done &lt;b&gt; &amp; gone</p>\n"}
	for _, code := range []string{"first", "second"} {
		if diff := cmp.Diff(done, visit(t, http.MethodGet, l.url+"?code="+code+"&page=done", nil)); diff != "" {
			t.Errorf("visit %s that ends the flow (-want +got):\n%s", code, diff)
		}
	}
	if got := visit(t, http.MethodPost, l.url+"?code=posted&page=done", nil).Status; got != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d, want 405", got)
	}
	if got := visit(t, http.MethodGet, strings.TrimSuffix(l.url, "/callback")+"/other?code=other&page=done", nil).Status; got != http.StatusNotFound {
		t.Errorf("another path answered %d, want 404", got)
	}

	q, err := l.next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(url.Values{"code": {"first"}, "page": {"done"}}, q); diff != "" {
		t.Errorf("next (-want +got):\n%s", diff)
	}
	want := []string{"page=refuse&state=forged", "page=wait", "code=first&page=done", "code=second&page=done"}
	if diff := cmp.Diff(want, j.judged()); diff != "" {
		t.Errorf("visits judged (-want +got):\n%s", diff)
	}
}

// TestListenLoopback_RefusesHugeHeaders: a request whose headers exceed the
// listener's bound is answered 431 and never judged; one with a few KiB of
// headers is served.
func TestListenLoopback_RefusesHugeHeaders(t *testing.T) {
	l, j := listenJudged(t)
	huge := http.Header{"X-Padding": {strings.Repeat("a", 2*loopbackMaxHeaderBytes)}}
	if got := visit(t, http.MethodGet, l.url+"?page=huge", huge).Status; got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("%d bytes of headers answered %d, want 431", 2*loopbackMaxHeaderBytes, got)
	}
	small := http.Header{"X-Padding": {strings.Repeat("a", 4<<10)}}
	if got := visit(t, http.MethodGet, l.url+"?page=small", small).Status; got != http.StatusOK {
		t.Errorf("4 KiB of headers answered %d, want 200", got)
	}
	if diff := cmp.Diff([]string{"page=small"}, j.judged()); diff != "" {
		t.Errorf("visits judged (-want +got):\n%s", diff)
	}
}

// TestListenLoopback_RefusesAPortOutOfRange: a port outside 0..65535 is an
// ErrValidation naming the field, before anything listens.
func TestListenLoopback_RefusesAPortOutOfRange(t *testing.T) {
	for _, port := range []int{-1, 65536} {
		l, err := listenLoopback(port, "/callback", (&visitsJudged{}).judge)
		var ve *ValidationError
		if l != nil || !errors.Is(err, ErrValidation) || !errors.As(err, &ve) {
			t.Fatalf("port %d: %v, %v; want a *ValidationError", port, l, err)
		}
		if diff := cmp.Diff([]Problem{{Field: "Port", Message: "must be between 0 and 65535"}}, ve.Problems); diff != "" {
			t.Errorf("port %d: problems (-want +got):\n%s", port, diff)
		}
	}
}

// TestLoopback_NextEndsWithTheContextAndCloseStopsTheListener: next gives the
// context's cause when it ends first; close may be called twice, and after
// it nothing answers at the URL.
func TestLoopback_NextEndsWithTheContextAndCloseStopsTheListener(t *testing.T) {
	l, _ := listenJudged(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("the person gave up")
	cancel(cause)
	if q, err := l.next(ctx); q != nil || !errors.Is(err, cause) {
		t.Errorf("next after the context ended: %v, %v; want the context's cause", q, err)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if err := l.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if resp, err := http.Get(l.url + "?page=done"); err == nil {
		resp.Body.Close()
		t.Errorf("the closed listener answered %d", resp.StatusCode)
	}
}
