package inspect

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

func TestCorpusGolden(t *testing.T) {
	ctx := context.Background()
	one := 1
	images := []struct {
		name  string
		open  func(testing.TB) Source
		files []FilesOptions
	}{
		{"busybox", busybox, []FilesOptions{{}}},
		{"debian", debian, []FilesOptions{{Glob: "**/bin/bu*"}, {Glob: "var/log/**"}, {Layer: &one}}},
	}
	for _, img := range images {
		t.Run(img.name, func(t *testing.T) {
			src := img.open(t)
			lr, err := Layers(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteLayersTable(&buf, lr); err != nil {
				t.Fatal(err)
			}
			golden(t, imageGolden(t, img.name+"-layers.txt"), buf.Bytes())
			golden(t, imageGolden(t, img.name+"-layers.json"), jsonBytes(t, lr))

			hr := History(src)
			buf.Reset()
			if err := WriteHistoryTable(&buf, hr); err != nil {
				t.Fatal(err)
			}
			golden(t, imageGolden(t, img.name+"-history.txt"), buf.Bytes())
			golden(t, imageGolden(t, img.name+"-history.json"), jsonBytes(t, hr))

			for i, opts := range img.files {
				fr, err := Files(ctx, src, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(fr.Entries) == 0 {
					t.Fatalf("files %+v: no entries", opts)
				}
				buf.Reset()
				if err := WriteFilesTable(&buf, fr); err != nil {
					t.Fatal(err)
				}
				name := imageGolden(t, img.name+"-files-"+string(rune('0'+i)))
				golden(t, name+".txt", buf.Bytes())
				if i == 0 {
					golden(t, name+".json", jsonBytes(t, fr))
				}
			}

			er, err := Efficiency(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			buf.Reset()
			if err := WriteEfficiencyTable(&buf, er, 10); err != nil {
				t.Fatal(err)
			}
			golden(t, imageGolden(t, img.name+"-efficiency.txt"), buf.Bytes())
		})
	}
}

// The layer table's figures are the blob's own: sizes from the manifest,
// diffIDs from the config, and every layer is accounted for.
func TestLayersMatchDescriptors(t *testing.T) {
	src := debian(t)
	lr, err := Layers(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	m, c := src.Manifest(), src.Config()
	if len(lr.Layers) != len(m.Layers) || lr.Total.Layers != len(m.Layers) {
		t.Fatalf("%d rows for %d layers", len(lr.Layers), len(m.Layers))
	}
	var total int64
	for i, l := range lr.Layers {
		if l.CompressedSize != m.Layers[i].Size || l.Digest != m.Layers[i].Digest.String() || l.DiffID != c.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d: %+v does not match manifest %+v / diff_id %s", i, l, m.Layers[i], c.RootFS.DiffIDs[i])
		}
		total += l.CompressedSize
	}
	if total != lr.Total.CompressedSize {
		t.Errorf("total %d, sum %d", lr.Total.CompressedSize, total)
	}
	if want, _ := debianFacts(t); lr.Layers[1].Whiteouts != want {
		t.Errorf("layer 1 whiteouts = %d; want %d", lr.Layers[1].Whiteouts, want)
	}
}

func TestHistoryEmptyLayers(t *testing.T) {
	hist := []ocispec.History{
		{CreatedBy: "ADD rootfs.tar /"},
		{CreatedBy: "ENV A=1", EmptyLayer: true},
		{CreatedBy: "RUN make", Comment: "buildkit"},
		{CreatedBy: "CMD [\"sh\"]", EmptyLayer: true},
	}
	src := newMemSource(t, "", hist, []ent{{name: "a", size: 1}}, []ent{{name: "b", size: 2}})
	lr, err := Layers(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{lr.Layers[0].CreatedBy, lr.Layers[1].CreatedBy}; got[0] != "ADD rootfs.tar /" || got[1] != "RUN make" {
		t.Errorf("created_by = %q", got)
	}
	hr := History(src)
	wantLayer := []int{0, -1, 1, -1}
	for i, h := range hr.History {
		got := -1
		if h.Layer != nil {
			got = *h.Layer
		}
		if got != wantLayer[i] || h.EmptyLayer != (wantLayer[i] < 0) {
			t.Errorf("history %d: layer %v empty %v; want layer %d", i, h.Layer, h.EmptyLayer, wantLayer[i])
		}
	}
	var buf bytes.Buffer
	if err := WriteHistoryTable(&buf, hr); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "<empty>"); n != 2 {
		t.Errorf("table marks %d empty layers, want 2:\n%s", n, buf.String())
	}
}

func TestVerification(t *testing.T) {
	ctx := context.Background()
	layers := []ent{{name: "etc/", typ: '5'}, {name: "etc/hosts", size: 12}}
	t.Run("diffid mismatch", func(t *testing.T) {
		src := newMemSource(t, "", nil, layers)
		src.config.RootFS.DiffIDs[0] = digest.FromString("something else")
		if _, err := Layers(ctx, src); !errors.Is(err, errdefs.ErrDiffIDMismatch) {
			t.Fatalf("err = %v; want errdefs.ErrDiffIDMismatch", err)
		}
	})
	t.Run("blob mismatch", func(t *testing.T) {
		src := newMemSource(t, "", nil, layers)
		src.manifest.Layers[0].Size++
		if _, err := Files(ctx, src, FilesOptions{}); !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Fatalf("err = %v; want errdefs.ErrDigestMismatch", err)
		}
	})
	t.Run("layer count", func(t *testing.T) {
		src := newMemSource(t, "", nil, layers)
		src.config.RootFS.DiffIDs = nil
		if _, err := Efficiency(ctx, src); !errors.Is(err, ErrLayerCount) {
			t.Fatalf("err = %v; want ErrLayerCount", err)
		}
	})
	t.Run("no such layer", func(t *testing.T) {
		src := newMemSource(t, "", nil, layers)
		n := 3
		if _, err := Files(ctx, src, FilesOptions{Layer: &n}); !errors.Is(err, ErrNoLayer) {
			t.Fatalf("err = %v; want ErrNoLayer", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		src := newMemSource(t, "", nil, layers, layers)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := Layers(cctx, src); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
	})
}

func TestMergeWhiteouts(t *testing.T) {
	src := newMemSource(t, "", nil,
		[]ent{{name: "d/", typ: '5'}, {name: "d/a", size: 1}, {name: "d/sub/", typ: '5'}, {name: "d/sub/x", size: 2},
			{name: "f", size: 3}, {name: "g/", typ: '5'}, {name: "g/x", size: 4}, {name: "h/", typ: '5'}, {name: "h/keep", size: 5},
			{name: "h/gone", size: 6}},
		[]ent{{name: "d/", typ: '5'}, {name: "d/c", size: 7}, {name: "d/.wh..wh..opq"}, {name: ".wh.f"},
			{name: "g", size: 8}, {name: "h/.wh.gone"}, {name: "h/link", typ: '1', link: "h/keep"}, {name: "f2", typ: '2', link: "/f"}},
	)
	fr, err := Files(context.Background(), src, FilesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range fr.Entries {
		got = append(got, e.Path+":"+e.Type)
	}
	want := "/d:dir /d/c:file /f2:symlink /g:file /h:dir /h/keep:file /h/link:hardlink"
	if strings.Join(got, " ") != want {
		t.Errorf("merged tree\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, e := range fr.Entries {
		if e.Path == "/h/link" && (e.Size != 5 || e.Digest == "" || e.Digest != digest.FromString("xxxxx").String()) {
			t.Errorf("hardlink to a lower file: size %d digest %s", e.Size, e.Digest)
		}
	}
	one := 1
	lr, err := Files(context.Background(), src, FilesOptions{Layer: &one, Glob: "**"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, e := range lr.Entries {
		kinds[e.Path] = kinds[e.Path] + e.Type + " "
	}
	if kinds["/f"] != "whiteout " || kinds["/d"] != "dir opaque " || kinds["/h/gone"] != "whiteout " {
		t.Errorf("layer 1 entries: %v", kinds)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"**/id_rsa", "/id_rsa", true},
		{"**/id_rsa", "/home/u/.ssh/id_rsa", true},
		{"**/id_rsa", "/home/u/.ssh/id_rsa.pub", false},
		{"**/.env", "/app/.env", true},
		{"**/.env", "/app/.envrc", false},
		{"usr/**", "/usr", true},
		{"usr/**", "/usr/bin/x", true},
		{"usr/**", "/usrx", false},
		{"/etc/*.conf", "/etc/a.conf", true},
		{"/etc/*.conf", "/etc/x/a.conf", false},
		{"etc/**/*.conf", "/etc/a.conf", true},
		{"etc/**/*.conf", "/etc/x/y/a.conf", true},
		{"a/**/b/**/c", "/a/x/b/y/z/c", true},
		{"a/**/b/**/c", "/a/x/c", false},
		{"bin/[a-c]*", "/bin/cat", true},
		{"bin/[a-c]*", "/bin/dd", false},
		{"**", "/anything/at/all", true},
	}
	for _, c := range cases {
		t.Run(c.pattern+" "+c.path, func(t *testing.T) {
			g, err := CompileGlob(c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Match(c.path); got != c.want {
				t.Errorf("match = %v; want %v", got, c.want)
			}
		})
	}
	if _, err := CompileGlob("a/[b"); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestModeString(t *testing.T) {
	cases := []struct {
		e    Entry
		want string
	}{
		{Entry{Type: TypeFile, perm: 0o4755}, "-rwsr-xr-x"},
		{Entry{Type: TypeFile, perm: 0o2644}, "-rw-r-Sr--"},
		{Entry{Type: TypeDir, perm: 0o1777}, "drwxrwxrwt"},
		{Entry{Type: TypeSymlink, perm: 0o777}, "lrwxrwxrwx"},
	}
	for _, c := range cases {
		if got := c.e.ModeString(); got != c.want {
			t.Errorf("%o %s: %s; want %s", c.e.perm, c.e.Type, got, c.want)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("**/id_rsa", "/home/u/.ssh/id_rsa")
	f.Add("a/**/b/*", "/a/b/c")
	f.Fuzz(func(t *testing.T, pattern, p string) {
		g, err := CompileGlob(pattern)
		if err != nil {
			return
		}
		g.Match(p)
		if pattern == "**" && !g.Match(p) {
			t.Fatalf("** does not match %q", p)
		}
	})
}
