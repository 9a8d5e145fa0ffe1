package unpack

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// tarEntry is what Apply uses of an entry, as read by either reader.
type tarEntry struct {
	Name, Linkname              string
	Typeflag                    byte
	Mode, Size                  int64
	Uid, Gid                    int
	ModTime, AccessTime, Change time.Time
	Devmajor, Devminor          int64
	PAX                         map[string]string
	Body                        []byte
	BodyErr                     string
}

// readAll reads every entry and its content, and the error that ended it.
func readAll(next func() (*tar.Header, error), body func() io.Reader) ([]tarEntry, error) {
	var out []tarEntry
	for len(out) < 10000 {
		hdr, err := next()
		if err != nil {
			return out, err
		}
		// At most 8 MiB: a sparse entry can claim terabytes of holes.
		b, err := io.ReadAll(io.LimitReader(body(), 8<<20))
		e := tarEntry{Name: hdr.Name, Linkname: hdr.Linkname, Typeflag: hdr.Typeflag, Mode: hdr.Mode, Size: hdr.Size,
			Uid: hdr.Uid, Gid: hdr.Gid, ModTime: hdr.ModTime, AccessTime: hdr.AccessTime, Change: hdr.ChangeTime,
			Devmajor: hdr.Devmajor, Devminor: hdr.Devminor, PAX: hdr.PAXRecords, Body: b}
		if err != nil {
			e.BodyErr = err.Error()
		}
		out = append(out, e)
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("too many entries")
}

// compareTarReaders checks tarReader and archive/tar agree on raw, read
// through a plain reader and through a prefetcher in small chunks.
func compareTarReaders(t *testing.T, raw []byte) {
	tr := tar.NewReader(bytes.NewReader(raw))
	want, wantErr := readAll(tr.Next, func() io.Reader { return tr })
	for _, via := range []string{"reader", "prefetcher"} {
		var src io.Reader = &oneByOne{r: bytes.NewReader(raw)}
		var pf *prefetcher
		if via == "prefetcher" {
			pf = newPrefetcher(t.Context(), bytes.NewReader(raw))
			src = pf
		}
		ours := newTarReader(src)
		got, gotErr := readAll(ours.Next, ours.Body)
		if pf != nil {
			pf.Close()
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: entries differ:\n got %+v\nwant %+v", via, got, want)
		}
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%s: error %v, archive/tar %v", via, gotErr, wantErr)
		}
	}
}

// oneByOne reads at most 700 bytes at a time, so headers straddle reads.
type oneByOne struct{ r io.Reader }

func (o *oneByOne) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 700)]) }

func tarCorpus(t testing.TB) [][]byte {
	long := strings.Repeat("d/", 70) + "f"
	var out [][]byte
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatGNU, tar.FormatPAX} {
		es := []testutil.Entry{testutil.Dir("a"), testutil.File("a/f", "hello"), testutil.Symlink("a/l", "f"),
			testutil.Hardlink("a/h", "a/f"), {Type: tar.TypeFifo, Name: "p"}, testutil.File("empty", "")}
		if format != tar.FormatUSTAR {
			es = append(es, testutil.File(long, "x"))
		}
		for i := range es {
			es[i].Format = format
		}
		out = append(out, testutil.Layer(t, es))
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "u/" + strings.Repeat("p", 120) + "/f", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644, Format: tar.FormatUSTAR})
	tw.Write([]byte("abc"))
	tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 3 << 20, Mode: 0o600, Uid: 1 << 22, Format: tar.FormatGNU})
	tw.Write(bytes.Repeat([]byte{7}, 3<<20))
	tw.WriteHeader(&tar.Header{Name: "s", Typeflag: tar.TypeReg, Size: 1 << 16, Mode: 0o600, Format: tar.FormatPAX,
		PAXRecords: map[string]string{"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "SCHILY.xattr.user.a": "b"}})
	tw.Write(bytes.Repeat([]byte{1}, 1<<16))
	tw.WriteHeader(&tar.Header{Name: "after", Typeflag: tar.TypeReg, Size: 1, AccessTime: time.Unix(5, 0), Format: tar.FormatGNU})
	tw.Write([]byte("z"))
	tw.Close()
	out = append(out, buf.Bytes())
	return out
}

func TestTarReaderMatchesArchiveTar(t *testing.T) {
	for i, raw := range tarCorpus(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			compareTarReaders(t, raw)
			for _, cut := range []int{0, 1, 100, 511, 512, 513, 600, 1024, 1030, len(raw) - 1024, len(raw) - 1} {
				if cut >= 0 && cut < len(raw) {
					compareTarReaders(t, raw[:cut])
				}
			}
		})
	}
}

// FuzzTarReader: on any input, tarReader reads the headers, contents and
// error archive/tar reads.
func FuzzTarReader(f *testing.F) {
	for _, raw := range tarCorpus(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { compareTarReaders(t, raw) })
}
