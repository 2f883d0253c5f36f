package apitest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// contentSource is the content of a stored file, read at any offset.
type contentSource interface {
	io.ReaderAt
	size() int64
}

// bytesSource is content held in memory.
type bytesSource []byte

func (b bytesSource) size() int64 { return int64(len(b)) }

func (b bytesSource) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(b).ReadAt(p, off)
}

// patternSource is content made as it is read: PatternByte at each offset.
type patternSource int64

func (n patternSource) size() int64 { return int64(n) }

// patternPeriod is the period of PatternByte: i*7 repeats every 256 bytes
// and i>>11, taken modulo 256, every 2048*256.
const patternPeriod = 2048 * 256

// patternTable is one period of PatternByte, made once: ReadAt copies from
// it, so that serving a large file costs the fake little more than the
// copy (a benchmark's client, not the fake, should be what is measured).
var patternTable = sync.OnceValue(func() []byte {
	t := make([]byte, patternPeriod)
	for i := range t {
		t[i] = PatternByte(int64(i))
	}
	return t
})

func (n patternSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("apitest: negative offset")
	}
	if off >= int64(n) {
		return 0, io.EOF
	}
	m := min(int64(len(p)), int64(n)-off)
	table := patternTable()
	for done := int64(0); done < m; {
		done += int64(copy(p[done:m], table[(off+done)%patternPeriod:]))
	}
	if m < int64(len(p)) {
		return int(m), io.EOF
	}
	return int(m), nil
}

// producesFile reports whether a completed run puts a file in Storage: its
// outcome made one and its output did not go to the caller's blob container.
func (r *run) producesFile() bool {
	return r.outcome != OutcomeError && r.outcome != outcomeMappingFileNotFound && !r.userBlob
}

// outputFile is the IFC file a run produced, named like its iModel, made
// from the run alone so that it needs no memory while nobody reads it.
func (r *run) outputFile(iModelID string, ended time.Time) *storedFile {
	name := fileSafe(iModelID) + ".ifc"
	content := ifcFile(name, iModelID, r.ifcVersion, r.fileID, ended.UTC())
	return &storedFile{id: r.fileID, displayName: name, path: "/Exports/" + name,
		created: ended.UTC(), size: int64(len(content)), content: bytesSource(content)}
}

// fileSchemas maps the contract's ifcVersion values onto the FILE_SCHEMA and
// the model view definition of the file the export writes. A run without
// ifcVersion gets IFC4.3, the first of the contract's values.
var fileSchemas = map[string]struct{ schema, view string }{
	string(api.IFCVersionIFC43):      {"IFC4X3_ADD2", "ReferenceView"},
	string(api.IFCVersionIFC2X3):     {"IFC2X3", "CoordinationView_V2.0"},
	string(api.IFCVersionIFC2X3CV20): {"IFC2X3", "CoordinationView_V2.0"},
	string(api.IFCVersionIFC4RV12):   {"IFC4", "ReferenceView_V1.2"},
	"":                               {"IFC4X3_ADD2", "ReferenceView"},
}

// IFCSchema returns the FILE_SCHEMA the fake writes for an ifcVersion of the
// create-run body ("" when the run named none), and false for a value
// outside the contract.
func IFCSchema(ifcVersion string) (string, bool) {
	s, ok := fileSchemas[ifcVersion]
	return s.schema, ok
}

// ifcFile writes a small, valid ISO-10303-21 (STEP) file of the IFC schema
// that ifcVersion names: a project, a site and a building named after the
// iModel, and the relations that nest them.
func ifcFile(name, iModelID, ifcVersion, fileID string, ended time.Time) []byte {
	fs, ok := fileSchemas[ifcVersion]
	if !ok {
		fs = fileSchemas[""]
	}
	model := stepString(iModelID)
	var b bytes.Buffer
	fmt.Fprintf(&b, "ISO-10303-21;\nHEADER;\n")
	fmt.Fprintf(&b, "FILE_DESCRIPTION(('ViewDefinition [%s]'),'2;1');\n", fs.view)
	fmt.Fprintf(&b, "FILE_NAME(%s,'%s',(''),(''),'itwin-export apitest','iTwin Export (fake)','');\n",
		stepString(name), ended.Format("2006-01-02T15:04:05"))
	fmt.Fprintf(&b, "FILE_SCHEMA(('%s'));\nENDSEC;\nDATA;\n", fs.schema)
	fmt.Fprintf(&b, "#1=IFCPROJECT('%s',$,%s,%s,$,$,$,$,$);\n", globalID(fileID, "project"), model, stepString("Exported from iModel "+iModelID))
	fmt.Fprintf(&b, "#2=IFCSITE('%s',$,%s,$,$,$,$,$,.ELEMENT.,$,$,$,$,$);\n", globalID(fileID, "site"), stepString(iModelID+" site"))
	fmt.Fprintf(&b, "#3=IFCBUILDING('%s',$,%s,$,$,$,$,$,.ELEMENT.,$,$,$);\n", globalID(fileID, "building"), stepString(iModelID+" building"))
	fmt.Fprintf(&b, "#4=IFCRELAGGREGATES('%s',$,$,$,#1,(#2));\n", globalID(fileID, "project-site"))
	fmt.Fprintf(&b, "#5=IFCRELAGGREGATES('%s',$,$,$,#2,(#3));\n", globalID(fileID, "site-building"))
	fmt.Fprintf(&b, "ENDSEC;\nEND-ISO-10303-21;\n")
	return b.Bytes()
}

// stepString quotes s as a STEP string: printable ASCII only (others become
// '_'), an apostrophe doubled, a backslash doubled.
func stepString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range s {
		switch {
		case c == '\'':
			b.WriteString("''")
		case c == '\\':
			b.WriteString(`\\`)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('_')
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// ifcBase64 is the alphabet of IFC GlobalIds.
const ifcBase64 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$"

// globalID is a 22-character IFC GlobalId derived from the file and the
// entity, so that the same run always gives the same file.
func globalID(fileID, entity string) string {
	sum := sha256.Sum256([]byte(fileID + "/" + entity))
	out := make([]byte, 22)
	out[0] = ifcBase64[sum[0]%4] // the first character holds 2 bits
	for i := 1; i < 22; i++ {
		out[i] = ifcBase64[sum[i]%64]
	}
	return string(out)
}

// fileSafe makes an iModel id usable as a file name: letters, digits, '-',
// '_' and '.' kept, anything else '_', never empty or only dots.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			b[i] = '_'
		}
	}
	if strings.Trim(string(b), ".") == "" {
		return "model"
	}
	return string(b)
}
