package wrapper

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOptions_Limits: zero limits take the defaults, negative ones mean none,
// others are kept.
func TestOptions_Limits(t *testing.T) {
	t.Parallel()
	type limits struct {
		Header, Idle, Body time.Duration
		Pages              int
	}
	for _, tc := range []struct {
		opts Options
		want limits
	}{
		{Options{}, limits{DefaultResponseHeaderTimeout, DefaultBodyIdleTimeout, DefaultBodyTimeout, DefaultMaxPages}},
		{Options{ResponseHeaderTimeout: -1, BodyIdleTimeout: -1, BodyTimeout: -1, MaxPages: -1}, limits{0, 0, 0, DefaultMaxPages}},
		{Options{ResponseHeaderTimeout: time.Second, BodyIdleTimeout: 2 * time.Second, BodyTimeout: 3 * time.Second, MaxPages: 7}, limits{time.Second, 2 * time.Second, 3 * time.Second, 7}},
	} {
		tc.opts.TokenSource = StaticToken("t")
		c, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := limits{c.headerTimeout, c.idleTimeout, c.bodyTimeout, c.maxPages}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.opts, diff)
		}
	}
}
