package apitest

import (
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

// maxScriptFile bounds a scripted file's size: its hash is computed when the
// script is loaded.
const maxScriptFile = 64 << 20

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
	for i, f := range sc.Files {
		if f.Name == "" || f.DisplayName == "" || f.Size < 0 || f.Size > maxScriptFile {
			return fmt.Sprintf("files[%d] needs a name, a displayName and a size within 0..%d", i, maxScriptFile)
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

// addFiles stores the script's files and sets their variables.
func (c *control) addFiles(files []scriptFile, vars map[string]string) {
	for _, f := range files {
		id := c.s.AddPatternFile(f.DisplayName, f.Size)
		h := sha256.New()
		buf := make([]byte, 0, 32<<10)
		for i := int64(0); i < f.Size; i++ {
			buf = append(buf, PatternByte(i))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
		vars[f.Name] = id
		vars[f.Name+"Sha256"] = hex.EncodeToString(h.Sum(nil))
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
	b.records, b.faults = nil, nil
	b.mu.Unlock()
}
