package apitest

import (
	"slices"
	"time"
)

// Defaults of what the server keeps, so that its memory stays bounded however
// long it runs and whatever its clients create.
const (
	// DefaultKeepConnections is how many connections the server keeps when
	// Options.KeepConnections is 0.
	DefaultKeepConnections = 1000
	// DefaultKeepRuns is how many runs of each connection the server keeps
	// when Options.KeepRuns is 0.
	DefaultKeepRuns = 100
)

const (
	// keepConnectionBytes bounds the text of the connections kept (ids,
	// iModel ids, display names), which clients choose.
	keepConnectionBytes = 32 << 20
	// connectionOverhead is about what a connection costs beyond its text.
	connectionOverhead = 256
	// maxRateTokens bounds how many tokens have an open rate-limit window at
	// once; beyond it, the window that started first is forgotten.
	maxRateTokens = 10000
	// minRateSweep is the fewest windows at which expired ones are swept.
	minRateSweep = 64
)

// size is about how many bytes the connection's own text and fields take.
func (c *connection) size() int {
	n := connectionOverhead + len(c.id) + len(c.iModelID) + len(c.iTwinID)
	if c.displayName != nil {
		n += len(*c.displayName)
	}
	return n
}

// keepConnections is how many connections the server keeps.
func (s *Server) keepConnections() int {
	if s.opts.KeepConnections > 0 {
		return s.opts.KeepConnections
	}
	return DefaultKeepConnections
}

// keepRuns is how many runs of a connection the server keeps.
func (s *Server) keepRuns() int {
	if s.opts.KeepRuns > 0 {
		return s.opts.KeepRuns
	}
	return DefaultKeepRuns
}

// trimConnectionsLocked forgets connections, oldest first and preferring
// those without an active run, while there are more than the server keeps or
// their text is over budget. The newest connection is always kept. s.mu is
// held.
func (s *Server) trimConnectionsLocked() {
	now := s.opts.Clock.Now()
	for len(s.order) > 1 && (len(s.order) > s.keepConnections() || s.connBytes > keepConnectionBytes) {
		victim := s.order[0]
		for _, id := range s.order[:len(s.order)-1] {
			if last := s.connections[id].lastRun(); last == nil || !last.activeAt(now, s.opts.StepDuration) {
				victim = id
				break
			}
		}
		s.forgetConnectionLocked(victim)
	}
}

// forgetConnectionLocked removes a connection, deleted or trimmed. Its run
// count and outcome stay answerable until as many connections again were
// forgotten after it. s.mu is held.
func (s *Server) forgetConnectionLocked(id string) {
	c := s.connections[id]
	if c == nil {
		return
	}
	s.connBytes -= c.size()
	delete(s.connections, id)
	s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == id })
	s.forgotten = append(s.forgotten, id)
	if extra := len(s.forgotten) - s.keepConnections(); extra > 0 {
		for _, old := range s.forgotten[:extra] {
			delete(s.runCounts, old)
			delete(s.outcomes, old)
		}
		s.forgotten = slices.Delete(s.forgotten, 0, extra)
	}
}

// addRunLocked stores a new run of c, forgetting its oldest runs beyond
// what the server keeps (only the newest run of a connection can be active).
// s.mu is held.
func (s *Server) addRunLocked(c *connection, r *run) {
	c.runs = append(c.runs, r)
	s.runCounts[c.id]++
	if extra := len(c.runs) - s.keepRuns(); extra > 0 {
		c.runs = slices.Delete(c.runs, 0, extra)
	}
}

// rateWindowLocked returns the token's open rate-limit window at now,
// starting a new one when it has none. Expired windows of all tokens are
// swept whenever the windows have doubled since the last sweep, so their
// number follows the tokens active within one window. s.mu is held.
func (s *Server) rateWindowLocked(token string, now time.Time) *rateWindow {
	win := s.rates[token]
	if win != nil && now.Before(win.start.Add(s.opts.RateWindow)) {
		return win
	}
	if win == nil && len(s.rates) >= s.rateSweepAt {
		s.sweepRatesLocked(now)
	}
	win = &rateWindow{start: now}
	s.rates[token] = win
	return win
}

// sweepRatesLocked forgets expired windows, and the oldest ones while the
// windows are at maxRateTokens. s.mu is held.
func (s *Server) sweepRatesLocked(now time.Time) {
	for token, win := range s.rates {
		if !now.Before(win.start.Add(s.opts.RateWindow)) {
			delete(s.rates, token)
		}
	}
	for len(s.rates) >= maxRateTokens {
		oldest := ""
		for token, win := range s.rates {
			if oldest == "" || win.start.Before(s.rates[oldest].start) {
				oldest = token
			}
		}
		delete(s.rates, oldest)
	}
	s.rateSweepAt = min(max(minRateSweep, 2*len(s.rates)), maxRateTokens)
}
