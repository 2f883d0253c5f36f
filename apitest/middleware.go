package apitest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// injectFaults answers requests that match an injected fault as it says.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := s.takeFault(r); ok {
			s.serveFault(w, r, f)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tokenKey is the context key of the request's bearer token.
type tokenKey struct{}

// tokenOf returns the bearer token authenticate found on r.
func tokenOf(r *http.Request) string {
	token, _ := r.Context().Value(tokenKey{}).(string)
	return token
}

// authenticate answers 401 unless the request carries a valid bearer token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, "HeaderNotFound", msgHeaderNotFound)
			return
		}
		if s.opts.ValidToken != nil && !s.opts.ValidToken(token) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "InvalidToken", msgInvalidToken)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, token)))
	})
}

// rateWindow counts a token's requests in its current window.
type rateWindow struct {
	start time.Time
	count int
}

// limitRate answers 429 to a token's requests beyond Options.RateLimit in a
// window of Options.RateWindow.
func (s *Server) limitRate(next http.Handler) http.Handler {
	if s.opts.RateLimit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.opts.Clock.Now()
		s.mu.Lock()
		win := s.rateWindowLocked(tokenOf(r), now)
		win.count++
		over := win.count > s.opts.RateLimit
		wait := win.start.Add(s.opts.RateWindow).Sub(now)
		s.mu.Unlock()
		if over {
			seconds := max(int((wait+time.Second-1)/time.Second), 1)
			w.Header().Set("Retry-After", strconv.Itoa(seconds))
			writeError(w, http.StatusTooManyRequests, "RateLimitExceeded", msgRateLimit)
			return
		}
		next.ServeHTTP(w, r)
	})
}
