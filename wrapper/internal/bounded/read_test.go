package bounded

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// closer records whether the body was closed.
type closer struct {
	io.Reader
	closed bool
}

func (c *closer) Close() error { c.closed = true; return nil }

// TestReadAll_Limits: a body within the limit is read whole; one past it
// gives the first limit bytes and ErrTooLarge, whatever its declared length
// says; a declared length past the limit is refused unread; the body is
// closed every time.
func TestReadAll_Limits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		body      string
		declared  int64
		limit     int64
		want      string
		wantErr   error
		wantReads bool
	}{
		{"within, declared", "hello", 5, 8, "hello", nil, true},
		{"within, unknown length", "hello", -1, 8, "hello", nil, true},
		{"exactly the limit", "12345678", 8, 8, "12345678", nil, true},
		{"past the limit, unknown length", "123456789", -1, 8, "12345678", ErrTooLarge, true},
		{"longer than declared", "123456789", 3, 8, "12345678", ErrTooLarge, true},
		{"declared past the limit", "123456789", 9, 8, "", ErrTooLarge, false},
		{"declared empty", "ignored", 0, 8, "", nil, false},
		{"empty, unknown length", "", -1, 8, "", nil, false},
	} {
		r := strings.NewReader(tc.body)
		body := &closer{Reader: r}
		got, err := ReadAll(body, tc.declared, tc.limit, nil)
		if string(got) != tc.want || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.wantErr)
		}
		if !body.closed {
			t.Errorf("%s: body not closed", tc.name)
		}
		if read := r.Len() < len(tc.body); read != tc.wantReads {
			t.Errorf("%s: read %v, want %v", tc.name, read, tc.wantReads)
		}
	}
}

// TestReadAll_ReadError: an error while reading comes back with what was
// read before it.
func TestReadAll_ReadError(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	body := &closer{Reader: io.MultiReader(strings.NewReader("part"), iotestErr{broken})}
	got, err := ReadAll(body, -1, 1<<20, nil)
	if string(got) != "part" || !errors.Is(err, broken) || !body.closed {
		t.Errorf("%q, %v (closed %v); want \"part\", %v, closed", got, err, body.closed, broken)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// FuzzReadAll: whatever the body, its declared length and the limit,
// ReadAll returns a prefix of the body no longer than the limit: all of it
// without error when it fits, ErrTooLarge when it does not.
func FuzzReadAll(f *testing.F) {
	f.Add([]byte(`{"run":{}}`), int64(10), int64(8<<20))
	f.Add([]byte("0123456789"), int64(-1), int64(4))
	f.Add([]byte("0123456789"), int64(2), int64(10))
	f.Add([]byte{}, int64(-1), int64(0))
	f.Add(bytes.Repeat([]byte("x"), 9000), int64(-1), int64(8192))
	f.Fuzz(func(t *testing.T, data []byte, declared, limit int64) {
		if limit < 0 || limit > 1<<20 || declared < -1 {
			t.Skip()
		}
		got, err := ReadAll(&closer{Reader: bytes.NewReader(data)}, declared, limit, nil)
		if !bytes.HasPrefix(data, got) || int64(len(got)) > limit {
			t.Fatalf("got %d bytes, not a prefix of the body within %d", len(got), limit)
		}
		switch {
		case declared > limit || declared != 0 && int64(len(data)) > limit:
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("declared %d, %d bytes, limit %d: err %v, want ErrTooLarge", declared, len(data), limit, err)
			}
		case declared == 0:
			if err != nil || len(got) != 0 {
				t.Fatalf("declared empty: %d bytes, %v", len(got), err)
			}
		default:
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("declared %d, %d bytes, limit %d: %d bytes, %v; want the whole body", declared, len(data), limit, len(got), err)
			}
		}
	})
}
