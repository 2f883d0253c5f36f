package rehearsal

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The three changes of the rehearsal, each a replacement of text the
// contract has once today: an operation, a field of the run and an enum
// value.
var changes = []struct{ old, new string }{
	{"  /connections/{connectionId}/runs/{runId}:\n", `  /connections/{connectionId}/runs/{runId}/cancel:
    parameters:
      - $ref: '#/components/parameters/ConnectionId'
      - name: runId
        in: path
        required: true
        description: Id of the run.
        schema:
          type: string
    post:
      operationId: cancelExportConnectionRun
      tags: [Export Connection Runs]
      summary: Cancel ExportConnection Run
      description: Cancels a run.
      responses:
        '202':
          description: The run is being cancelled.
        default:
          $ref: '#/components/responses/Failure'
  /connections/{connectionId}/runs/{runId}:
`},
	{"        result:\n          $ref: '#/components/schemas/execution-result'\n        jobs:\n",
		"        result:\n          $ref: '#/components/schemas/execution-result'\n        progress:\n          type: integer\n          description: Percent done.\n        jobs:\n"},
	{"        - IFC4 RV 1.2\n", "        - IFC4 RV 1.2\n        - IFC5\n"},
}

// TestRehearsal copies the tree, applies the three changes to openapi.yaml,
// runs `make generate`, then `go build ./...` and the checks of
// testdata/rehearsal_check_test.go (as a test of package wrapper in the copy).
func TestRehearsal(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is required:", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyTree(t, root, dir)

	spec := filepath.Join(dir, "openapi.yaml")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, c := range changes {
		if strings.Count(text, c.old) != 1 {
			t.Fatalf("%q is not in openapi.yaml once", c.old)
		}
		text = strings.Replace(text, c.old, c.new, 1)
	}
	if err := os.WriteFile(spec, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	run(t, dir, "make", "generate")
	run(t, dir, "go", "build", "./...")
	check, err := os.ReadFile(filepath.Join("testdata", "rehearsal_check_test.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wrapper", "rehearsal_check_test.go"), check, 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, dir, "go", "test", "-count=1", "-run", "^TestRehearsalCheck", "-v", "./wrapper/")
	if !strings.Contains(out, "--- PASS: TestRehearsalCheck") {
		t.Fatalf("the checks did not run:\n%s", out)
	}
}

// run runs a command in dir and returns its output; it fails the test when
// the command fails.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// copyTree copies the module's files from src to dst, without .git and
// node_modules.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
