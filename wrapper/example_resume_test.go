package wrapper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// exportState is what the service writes down once a run is started. A
// RunRef is an encoding.TextMarshaler: in JSON it is the run's Location, an
// absolute URL, and it reads back with the checks of ParseRunRef.
type exportState struct {
	Run       wrapper.RunRef `json:"run"`
	OutputDir string         `json:"outputDir"`
}

// startExport creates the run and saves its reference before anything else
// can go wrong. (A real service writes a temporary file and renames it, or
// uses a database row.)
func startExport(ctx context.Context, client *wrapper.Client, connectionID, outputDir, statePath string) error {
	ref, err := client.CreateRun(ctx, connectionID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC})
	if err != nil {
		return err
	}
	state, err := json.Marshal(exportState{Run: ref, OutputDir: outputDir})
	if err != nil {
		return err
	}
	return os.WriteFile(statePath, state, 0o600)
}

// finishExport reads the saved reference, waits for that run and downloads
// its outputs: the same code after a normal start and after a crash.
func finishExport(ctx context.Context, client *wrapper.Client, statePath string) (*api.ExportRun, []wrapper.DownloadedFile, error) {
	saved, err := os.ReadFile(statePath)
	if err != nil {
		return nil, nil, err
	}
	var state exportState
	if err := json.Unmarshal(saved, &state); err != nil {
		return nil, nil, err // a RunRef that does not parse matches wrapper.ErrValidation
	}
	run, err := client.WaitRun(ctx, state.Run, wrapper.WaitOptions{})
	if err != nil {
		return run, nil, err // keep the state: the next start resumes again
	}
	files, err := client.DownloadRunOutputs(ctx, run, state.OutputDir, wrapper.DownloadOptions{})
	if err != nil {
		return run, files, err
	}
	return run, files, os.Remove(statePath)
}

// A service that survives a crash: it saves the run's reference (a RunRef,
// marshalled as its Location) as soon as the run is created, and after a
// restart a new Client reads it back and waits for the same run, then
// downloads its output. No second run is created: the service saw one
// create, and its record of the connection holds one run.
//
// The reference is all there is to keep: a Client holds no state of its
// runs, so the one after the restart may be built with other options or
// credentials, in another process. Had the process died between CreateRun
// and the save, calling CreateRun again would be safe while that run is
// active: the API answers 303 with it (RunRef.Existing), and no run is
// created either.
func Example_crashAndResume() {
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := apitest.NewServer(apitest.Options{Clock: clock, StepDuration: 12 * time.Second})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"}).ID
	work, err := os.MkdirTemp("", "export-service")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(work)
	statePath := filepath.Join(work, "export.json")
	ctx := context.Background()

	// The first process starts the export, saves its reference, and
	// crashes: its Client is gone, the run goes on at the service.
	func() {
		client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("first-token"), Clock: clock})
		if err != nil {
			panic(err)
		}
		if err := startExport(ctx, client, conn, filepath.Join(work, "out"), statePath); err != nil {
			panic(err)
		}
	}()
	clock.Advance(30 * time.Second)
	saved, err := os.ReadFile(statePath)
	if err != nil {
		panic(err)
	}
	var first exportState
	if err := json.Unmarshal(saved, &first); err != nil {
		panic(err)
	}
	// (Printed with the service's address and the ids replaced by names.)
	fmt.Println("saved:", strings.NewReplacer(fake.URL, "https://api.bentley.com/export", conn, "CONNECTION_ID",
		first.Run.RunID, "RUN_ID", filepath.ToSlash(work), "/var/lib/exporter").Replace(string(saved)))

	// After the restart, a new Client finds the saved run and finishes it.
	restarted, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("second-token"), Clock: clock})
	if err != nil {
		panic(err)
	}
	run, files, err := finishExport(ctx, restarted, statePath)
	if err != nil {
		panic(err)
	}
	fmt.Println("waited for the saved run:", run.ID == first.Run.RunID, run.Result)
	fmt.Println("downloaded:", filepath.Base(files[0].Path))

	creates := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/runs") {
			creates++
		}
	}
	fmt.Println("creates the service saw:", creates)
	fmt.Println("runs of the connection:", fake.RunCount(conn))

	// Text that is not a run's Location is refused when it is read, with
	// an error that says so.
	var broken exportState
	err = json.Unmarshal([]byte(`{"run":"not a run"}`), &broken)
	var parseErr *wrapper.RunRefParseError
	fmt.Println("a damaged state:", errors.As(err, &parseErr), errors.Is(err, wrapper.ErrValidation))
	// Output:
	// saved: {"run":"https://api.bentley.com/export/connections/CONNECTION_ID/runs/RUN_ID","outputDir":"/var/lib/exporter/out"}
	// waited for the saved run: true Success
	// downloaded: 7dbd531d-6967-47b2-8945-a722a437ad7a.ifc
	// creates the service saw: 1
	// runs of the connection: 1
	// a damaged state: true true
}
