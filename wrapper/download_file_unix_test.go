//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wrapper_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestDownloadIntoFIFO: a named pipe at the destination is written into,
// in order, and stays a pipe, without Overwrite and with it.
func TestDownloadIntoFIFO(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		t.Run(fmt.Sprintf("overwrite %v", overwrite), func(t *testing.T) {
			fake := newFake(t, apitest.Options{})
			c := newClient(t, fake.URL)
			const size = 300_000
			id := fake.AddPatternFile("a.ifc", size)
			dir := t.TempDir()
			fifo := filepath.Join(dir, "pipe")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			var got []byte
			var readErr error
			read := make(chan struct{})
			go func() {
				defer close(read)
				f, err := os.Open(fifo)
				if err != nil {
					readErr = err
					return
				}
				defer f.Close()
				got, readErr = io.ReadAll(f)
			}()
			// Above the block size: still one stream.
			_, err := c.DownloadFile(context.Background(), id, fifo, wrapper.DownloadOptions{Overwrite: overwrite, BlockSize: 100_000})
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Lstat(fifo)
			if err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
				t.Fatalf("the pipe was replaced: %v %v", st.Mode(), err) // its reader waits for no writer now
			}
			<-read
			if readErr != nil || !bytes.Equal(got, pattern(size)) {
				t.Errorf("read %d bytes from the pipe (%v), want the file's %d", len(got), readErr, size)
			}
			if names := entries(t, dir); !slices.Equal(names, []string{"pipe"}) {
				t.Errorf("directory holds %v", names)
			}
			if rs := ranges(fake); !slices.Equal(rs, []string{""}) {
				t.Errorf("ranges %q, want one whole GET", rs)
			}
		})
	}
}
