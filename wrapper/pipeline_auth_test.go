package wrapper

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAuthorize_TokenOnlyToTheAPIsOrigin: the stage adds the bearer token
// to a request of the API's origin, and refuses one to another origin
// (ErrForeignLocation) without sending it, or the token, anywhere.
func TestAuthorize_TokenOnlyToTheAPIsOrigin(t *testing.T) {
	t.Parallel()
	c := stageClient(t, Options{})
	var got *http.Request
	if _, err := runStage(c, c.authorize, seen(200, &got), httptest.NewRequest("GET", "https://api.example.com/export/connections/c1", nil)); err != nil {
		t.Fatal(err)
	}
	if h := got.Header.Get("Authorization"); h != "Bearer stage-token" {
		t.Errorf("Authorization %q, want the bearer token", h)
	}
	got = nil
	_, err := runStage(c, c.authorize, seen(200, &got), httptest.NewRequest("GET", "https://elsewhere.example.com/export/connections/c1", nil))
	if !errors.Is(err, ErrForeignLocation) || got != nil || strings.Contains(err.Error(), "stage-token") {
		t.Errorf("foreign origin: err %v, sent %v; want ErrForeignLocation, nothing sent", err, got != nil)
	}
}
