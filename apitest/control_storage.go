package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// scriptFile is a file a script stores in the Storage API: PatternByte(i) at
// each offset i, made as it is read.
type scriptFile struct {
	// Name is the variable that holds the file's id; Name+"Sha256" and
	// Name+"Size" hold its content's SHA-256 (hex) and size.
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Size        int64  `json:"size"`
}

// Scripted files are made as they are read, but their SHA-256 is computed
// when the script is loaded: their number and total size per script are
// bounded (400 beyond), and the hashing stops when the client goes away.
const (
	maxScriptFile      = 64 << 20  // one file's size
	maxScriptFiles     = 16        // files per script
	maxScriptFileBytes = 128 << 20 // all files of a script together
)

// scriptBlobFault spoils the next transfers of a file on the blob origin.
type scriptBlobFault struct {
	// FileID is the file (a {variable}); "" means any.
	FileID string `json:"fileId,omitempty"`
	Count  int    `json:"count,omitempty"`
	// Kind is cut, wrongLength, stall, expired or busy.
	Kind  string `json:"kind"`
	After int64  `json:"after,omitempty"`
	Delta int64  `json:"delta,omitempty"`
	// DelayMillis is busy's Retry-After (whole seconds of it).
	DelayMillis int64 `json:"delayMillis,omitempty"`
}

var blobFaultKinds = map[string]BlobFaultKind{
	"cut": BlobCut, "wrongLength": BlobWrongLength, "stall": BlobStall, "expired": BlobExpired, "busy": BlobBusy,
}

// checkStorage returns what is wrong with the script's files and blob
// faults, or "".
func (sc *script) checkStorage() string {
	if len(sc.Files) > maxScriptFiles {
		return fmt.Sprintf("files holds %d files, more than %d", len(sc.Files), maxScriptFiles)
	}
	var total int64
	for i, f := range sc.Files {
		if f.Name == "" || f.DisplayName == "" || f.Size < 0 || f.Size > maxScriptFile {
			return fmt.Sprintf("files[%d] needs a name, a displayName and a size within 0..%d", i, maxScriptFile)
		}
		if total += f.Size; total > maxScriptFileBytes {
			return fmt.Sprintf("files total more than %d bytes", maxScriptFileBytes)
		}
	}
	for i, f := range sc.BlobFaults {
		if _, ok := blobFaultKinds[f.Kind]; !ok {
			return fmt.Sprintf("blobFaults[%d].kind %q is not cut, wrongLength, stall, expired or busy", i, f.Kind)
		}
		if f.After < 0 || f.DelayMillis < 0 {
			return fmt.Sprintf("blobFaults[%d]: after and delayMillis must not be negative", i)
		}
	}
	return ""
}

// hashFiles computes the SHA-256 of each scripted file's content, in
// order, until ctx ends (the client went away): then it returns ctx's error.
func hashFiles(ctx context.Context, files []scriptFile) ([]string, error) {
	sums := make([]string, len(files))
	buf := make([]byte, 64<<10)
	for n, f := range files {
		h := sha256.New()
		for off := int64(0); off < f.Size; off += int64(len(buf)) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			chunk := buf[:min(int64(len(buf)), f.Size-off)]
			for i := range chunk {
				chunk[i] = PatternByte(off + int64(i))
			}
			h.Write(chunk)
		}
		sums[n] = hex.EncodeToString(h.Sum(nil))
	}
	return sums, nil
}

// addFiles stores the script's files, whose hashes are sums, and sets their
// variables.
func (c *control) addFiles(files []scriptFile, sums []string, vars map[string]string) {
	for n, f := range files {
		id := c.s.AddPatternFile(f.DisplayName, f.Size)
		vars[f.Name] = id
		vars[f.Name+"Sha256"] = sums[n]
		vars[f.Name+"Size"] = strconv.FormatInt(f.Size, 10)
	}
}

// blobFault is the BlobFault the scripted one queues.
func (f scriptBlobFault) blobFault() BlobFault {
	return BlobFault{FileID: f.FileID, Count: f.Count, Kind: blobFaultKinds[f.Kind], After: f.After, Delta: f.Delta,
		Delay: time.Duration(f.DelayMillis) * time.Millisecond}
}

// blobRecords are the blob origin's recorded requests, as the control API
// reports them: without their query, which holds the link's signature.
func (c *control) blobRecords() []controlRecord {
	var out []controlRecord
	for _, r := range c.s.BlobRequests() {
		out = append(out, controlRecord{Origin: "blob", Method: r.Method, Path: r.Path, Headers: redactedHeaders(r.Header)})
	}
	return out
}

// resetStorage forgets the scripted files, blob faults and blob records.
func (c *control) resetStorage() {
	s := c.s
	s.files.mu.Lock()
	s.files.added = nil
	s.files.mu.Unlock()
	b := s.blob
	b.mu.Lock()
	b.records.reset()
	b.faults = nil
	b.mu.Unlock()
}
