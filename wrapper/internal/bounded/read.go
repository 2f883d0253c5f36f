// Package bounded reads HTTP bodies within a size limit and ends exchanges
// that stall: the machinery under the per-exchange limits of package
// wrapper.
package bounded

import (
	"errors"
	"io"
)

// ErrTooLarge is a body longer than the limit it was read under.
var ErrTooLarge = errors.New("body too large")

// ReadAll reads body to its end, at most limit bytes of it, and closes it:
// a body read to EOF lets the connection be reused. Past limit it returns
// what it read (limit bytes) and ErrTooLarge; a declared length
// (Content-Length, or -1 for unknown) past limit is refused before reading.
// The buffer doubles as it fills, so a body costs at most about twice its
// size, never more than twice the limit. Each read restarts w's idle limit;
// w may be nil.
func ReadAll(body io.ReadCloser, declared, limit int64, w *Watchdog) ([]byte, error) {
	defer body.Close()
	switch {
	case declared > limit:
		return nil, ErrTooLarge
	case declared == 0:
		return nil, nil // nothing to read: the transport has ended the body
	}
	size := int64(4 << 10)
	if declared >= 0 {
		size = declared + 1 // +1 sees a body longer than it declared
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf[:limit], ErrTooLarge
			}
			grown := make([]byte, len(buf), min(2*cap(buf), int(limit+1)))
			copy(grown, buf)
			buf = grown
		}
		w.Kick()
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if int64(len(buf)) > limit {
		return buf[:limit], ErrTooLarge
	}
	return buf, nil // read to EOF: the connection can be reused
}
