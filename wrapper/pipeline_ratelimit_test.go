package wrapper

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRateLimit_PauseHoldsTheRequest: during a client-wide pause the stage
// sends nothing; a context that ends first ends the request with its cause.
func TestRateLimit_PauseHoldsTheRequest(t *testing.T) {
	t.Parallel()
	c := stageClient(t, Options{})
	c.limiter.Pause(context.Background(), time.Hour)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("caller gave up")
	cancel(stop)
	var got *http.Request
	_, err := runStage(c, c.rateLimit, seen(200, &got), httptest.NewRequest("GET", "https://api.example.com/export/connections/c1", nil).WithContext(ctx))
	if !errors.Is(err, stop) || got != nil {
		t.Errorf("err %v, sent %v; want the context's cause, nothing sent", err, got != nil)
	}
}
