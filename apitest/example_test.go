package apitest_test

import (
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// Example starts the fake Export API, seeds a connection and creates a run of
// it over HTTP, as a client would.
func Example() {
	s := apitest.NewServer(apitest.Options{})
	defer s.Close()
	conn := s.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})

	// Go follows 303 by default; a client of the Export API must not.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	create := func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/connections/"+conn.ID+"/runs",
			strings.NewReader(`{"exportType":"IFC","ifcVersion":"IFC4.3"}`))
		req.Header.Set("Authorization", "Bearer any-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		location := resp.Header.Get("Location")
		ids := strings.NewReplacer(conn.ID, "{connectionId}", path.Base(location), "{runId}")
		fmt.Println(resp.Status, ids.Replace(location))
	}
	create() // creates the run
	create() // the run is still active: see other

	// Output:
	// 202 Accepted /export/connections/{connectionId}/runs/{runId}
	// 303 See Other /export/connections/{connectionId}/runs/{runId}
}
