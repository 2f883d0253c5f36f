package wrapper_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestForbiddenAndUnauthorizedFromTheFake(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{
		ValidToken: func(tok string) bool { return tok == testToken },
		MayUse:     func(tok, id string) bool { return false },
	})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	_, err := newClient(t, fake.URL).CreateRun(context.Background(), conn.ID, ifcRequest())
	if !errors.Is(err, wrapper.ErrForbidden) {
		t.Errorf("err = %v, want ErrForbidden", err)
	}
	bad, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("wrong-token-value")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetConnection(context.Background(), conn.ID)
	if !errors.Is(err, wrapper.ErrUnauthorized) {
		t.Errorf("err = %v, want ErrUnauthorized", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-token-value") {
		t.Errorf("error carries the token: %v", err)
	}
}
