package apitest

import (
	"net/http"
	"net/url"

	"github.com/itwin-export/itwin-export/api"
)

// outcomeUserNotAuthorized ends a run of a User connection created by a user
// who had not authorized the service (Options.OAuth.RequireUserAuthorization).
const outcomeUserNotAuthorized Outcome = -1

// userOf returns the user a bearer token stands for: the user it was issued
// to by the fake's token endpoint, else the token itself (the fake accepts
// tokens from anywhere, and each is then a user of its own).
func (s *Server) userOf(token string) string {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	if user, ok := s.oauth.users.get(token); ok {
		return user
	}
	return "token:" + token
}

// userAuthorized reports whether the service holds the refresh token of the
// user of the request's bearer token: Options.UserAuthorized for everyone,
// else once the user visited an authorizationUrl.
func (s *Server) userAuthorized(r *http.Request) bool {
	if s.opts.UserAuthorized {
		return true
	}
	user := s.userOf(tokenOf(r))
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	_, ok := s.oauth.authorized.get(user)
	return ok
}

// authorizationURL is the authorizationUrl of the request's user: a page of
// the fake's origin, named by a random ticket (never the token), that sends
// the browser on to redirectURL once visited.
func (s *Server) authorizationURL(r *http.Request, redirectURL string) string {
	ticket := newID(16)
	user := s.userOf(tokenOf(r))
	s.oauth.mu.Lock()
	s.oauth.tickets.put(ticket, user)
	s.oauth.mu.Unlock()
	return s.origin + ExportAuthorizePath + "?ticket=" + ticket + "&redirect_url=" + url.QueryEscape(redirectURL)
}

// exportAuthorize is the page of an authorizationUrl: the user consents, the
// service keeps their refresh token, and the browser goes on to the
// redirect URL (http or https only).
func (s *Server) exportAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.oauth.mu.Lock()
	user, ok := s.oauth.tickets.get(q.Get("ticket"))
	if ok {
		s.oauth.authorized.put(user, struct{}{})
	}
	s.oauth.mu.Unlock()
	if !ok {
		http.Error(w, "unknown or expired authorization link: ask the authorization information again", http.StatusBadRequest)
		return
	}
	if next, err := url.Parse(q.Get("redirect_url")); err == nil && (next.Scheme == "http" || next.Scheme == "https") && next.Host != "" {
		http.Redirect(w, r, next.String(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Authorized: the Export service may now run exports for you. You can close this window.\n"))
}

// runOutcome is how a run of connection c created by request r ends: the
// connection's outcome, unless the fake requires user authorization and the
// user of a User connection has not given it. It takes
// only the authorization server's lock.
func (s *Server) runOutcome(r *http.Request, authType api.AuthenticationType, outcome Outcome) Outcome {
	if s.opts.OAuth.RequireUserAuthorization && authType == api.AuthenticationTypeUser && !s.userAuthorized(r) {
		return outcomeUserNotAuthorized
	}
	return outcome
}

// userNotAuthorizedError is the task error of a run whose user had not
// authorized the service. Its wording is the fake's: the reference pages do
// not show the real service's.
func userNotAuthorizedError() *api.TaskError {
	return &api.TaskError{
		ErrorCode:      ptr("UserNotAuthorized"),
		Message:        ptr("The service holds no refresh token of the user who created this run."),
		Description:    ptr("The user is not authorized: visit the authorizationUrl of the authorization information, then run again."),
		DescriptionKey: ptr("UserNotAuthorized"),
		System:         ptr("Exporter"),
		Phase:          ptr("authorization"),
		Category:       ptr("authorization"),
		CanUserFix:     ptr(true),
	}
}
