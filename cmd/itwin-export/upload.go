package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
	"github.com/spf13/cobra"
)

// uploadCmd is `itwin-export upload`: a local file → create in a Storage
// folder → PUT to the upload link → complete → the new file's id.
type uploadCmd struct {
	clientFlags
	folder, itwin, name string
	json                bool
	// blockSize is UploadOptions.BlockSize: 0, the wrapper's choice. Tests
	// set it to reach the size limit with a small file.
	blockSize int64
}

// newUploadCmd returns `itwin-export upload`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newUploadCmd(f *factory, runF func(*uploadCmd, []string) error) *cobra.Command {
	c := &uploadCmd{}
	fs := leaf(f, c, runF, spec{use: "upload FILE [--folder ID | --itwin ID] [--name NAME] [--json] [--timeout D] [--verbose]", short: "put a local file into iTwin Storage, such as a custom mapping file",
		long: `Put a local file into iTwin Storage, such as a custom IFC mapping file for
'run --mapping-file': create the file in a folder, PUT its content to the
returned blob link (with no credential; in blocks above 256 MiB), complete the
upload. The folder is --folder, else the root folder of the iTwin --itwin
names. stdout is the new file's id (with --json, the file object). A missing,
empty or unreadable file, or a directory, exits 2 and creates nothing; an
upload that fails after the file was created deletes it.`, args: 1,
		examples: []string{
			"upload my-mapping.json --folder FOLDER_ID",
			"upload my-mapping.json --itwin ITWIN_ID --name building-a-mapping.json --json"}})
	fs.StringVar(&c.folder, "folder", "", "`ID` of the iTwin Storage folder to put the file in")
	fs.StringVar(&c.itwin, "itwin", "", "`ID` of the iTwin whose root folder takes the file (when --folder is not given)")
	fs.StringVar(&c.name, "name", "", "`NAME` of the file in Storage (default the local file's name)")
	fs.jsonFlags(&c.json, "write the file object to stdout")
	c.clientFlags.add(fs)
	return fs.cmd
}

// exec uploads the file.
func (c *uploadCmd) exec(ctx context.Context, a *app, args []string) error {
	switch {
	case c.folder != "" && c.itwin != "":
		return flagErrorf("--folder and --itwin exclude each other")
	case strings.TrimSpace(c.folder) == "" && strings.TrimSpace(c.itwin) == "":
		return flagErrorf("--folder or --itwin is required")
	}
	opts := wrapper.UploadOptions{Name: c.name, BlockSize: c.blockSize}
	if err := wrapper.CheckUpload(args[0], opts); err != nil {
		return err
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	folder := c.folder
	if folder == "" {
		if folder, err = client.RootFolder(ctx, c.itwin); err != nil {
			return err
		}
	}
	file, err := client.UploadFile(ctx, folder, args[0], opts)
	if err != nil {
		return err
	}
	if c.json {
		return a.out.writeJSON(a.stdout, file)
	}
	_, err = fmt.Fprintln(a.stdout, a.out.text(file.ID))
	return err
}

// localMapping reports whether a --mapping-file value names a local file
// rather than a Storage file id: a path that exists, or one that looks like
// a path (a directory part or a file extension, which Storage ids do not
// have), so that a mistyped path is an error, not an id no run can use.
func localMapping(value string) bool {
	if _, err := os.Stat(value); err == nil {
		return true
	}
	return strings.ContainsAny(value, `/\`) || filepath.Ext(value) != ""
}

// uploadMapping uploads the local mapping file of `run --mapping-file PATH`
// and puts its id into the request: into folder when given, else into the
// root folder of the connection's iTwin. The file is checked before any
// request. Several connections need folder: they may belong to other
// iTwins.
func (a *app) uploadMapping(ctx context.Context, client *wrapper.Client, connections []string, folder, path string,
	req *api.ExportConnectionRunCreate) error {
	if folder == "" && len(connections) != 1 {
		return flagErrorf("--mapping-file with a local file and several connections needs --folder: the connections may belong to other iTwins")
	}
	if folder == "" {
		conn, err := client.GetConnection(ctx, connections[0])
		if err != nil {
			return withFlagNames(err)
		}
		if conn.ITwinID == "" {
			return fmt.Errorf("connection %s names no iTwin, whose root folder would take the mapping file: give --folder: %w",
				connections[0], wrapper.ErrMalformedResponse)
		}
		if folder, err = client.RootFolder(ctx, conn.ITwinID); err != nil {
			return err
		}
	}
	file, err := client.UploadFile(ctx, folder, path, wrapper.UploadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "uploaded %s as mapping file %s\n", a.out.text(path), a.out.text(file.ID))
	if req.InputOptions == nil {
		req.InputOptions = &api.ExportRunInputOptions{}
	}
	req.InputOptions.MappingFileID = &file.ID
	return nil
}

// checkMapping reports whether --mapping-file names a local file to upload
// first, and checks that file before anything is sent.
func (r *requestFlags) checkMapping() (local bool, err error) {
	if !localMapping(r.mappingFile) {
		return false, nil
	}
	if err := wrapper.CheckUpload(r.mappingFile, wrapper.UploadOptions{}); err != nil {
		var v *wrapper.ValidationError
		if errors.As(err, &v) {
			for i := range v.Problems {
				v.Problems[i].Field = "--mapping-file"
			}
		}
		return true, err
	}
	return true, nil
}
