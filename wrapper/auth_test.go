package wrapper_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/wrapper"
)

// TestClientCredentials_TokenURLCheckedAtConstruction: a token URL that cannot be used is
// refused when the source is made, with a message naming the problem, and
// CheckEndpointURL says the same.
func TestClientCredentials_TokenURLCheckedAtConstruction(t *testing.T) {
	for _, tc := range []struct{ url, says string }{
		{"not a url", "not an absolute URL"},
		{"ftp://ims.example.com/token", `scheme "ftp"`},
		{"http://example.com/token", "plain http"},
		{"https://user:pw@ims.example.com/token", "user information"},
		{"/connect/token", "not an absolute URL"},
	} {
		src, err := wrapper.ClientCredentials("id", "secret-at-construction", tc.url)
		if src != nil || !errors.Is(err, wrapper.ErrValidation) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ClientCredentials(%q): %v, %v; want an ErrValidation saying %q", tc.url, src, err, tc.says)
		}
		if err := wrapper.CheckEndpointURL(tc.url); !errors.Is(err, wrapper.ErrValidation) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("CheckEndpointURL(%q): %v", tc.url, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the URL's password is in %q", err)
		}
	}
	for _, ok := range []string{"", "https://ims.example.com/connect/token", "http://127.0.0.1:9/token", "http://localhost/token", "http://[::1]:8/t"} {
		if _, err := wrapper.ClientCredentials("id", "secret", ok); err != nil {
			t.Errorf("ClientCredentials(%q): %v", ok, err)
		}
	}
	if _, err := wrapper.ClientCredentials("", "secret", ""); !errors.Is(err, wrapper.ErrValidation) {
		t.Errorf("no client id: %v", err)
	}
}
