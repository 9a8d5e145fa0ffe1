package main

import (
	"archive/tar"
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestEfficiency(t *testing.T) {
	tests := []struct {
		name       string
		layers     [][]entry
		wantWasted int64
		wantScore  float64
	}{
		{
			name: "nothing repeated",
			layers: [][]entry{
				{{path: "/a", size: 10}},
				{{path: "/b", size: 20}},
			},
			wantWasted: 0, wantScore: 1,
		},
		{
			name: "overwrite wastes both discoveries, deleted directory counts its tree",
			layers: [][]entry{
				{{path: "/a", size: 100}, {path: "/d", dir: true}, {path: "/d/x", size: 10}, {path: "/d/y", size: 20}},
				{{path: "/a", size: 50}, {path: "/d", whiteout: true}},
			},
			// /a: 100+50 wasted; /d is a directory in layer 1 (not a leaf),
			// so its whiteout is a single discovery of 30 bytes.
			wantWasted: 150, wantScore: float64(50+10+20+30) / float64(150+10+20+30),
		},
		{
			name: "deleted file is wasted with its original size",
			layers: [][]entry{
				{{path: "/big", size: 1000}, {path: "/keep", size: 1000}},
				{{path: "/big", whiteout: true}},
			},
			wantWasted: 1000, wantScore: float64(0+1000) / float64(1000+1000),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEfficiency()
			for _, l := range tt.layers {
				e.add(l)
			}
			score, wasted, _ := e.result()
			if wasted != tt.wantWasted || math.Abs(score-tt.wantScore) > 1e-9 {
				t.Errorf("wasted %d score %.4f, want %d %.4f", wasted, score, tt.wantWasted, tt.wantScore)
			}
		})
	}
}

func TestReadLayerResolvesWhiteouts(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/.wh.motd", Typeflag: tar.TypeReg},
		{Name: "var/log/.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Size: 0},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Size: 3},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte("abc"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := readLayer(layer)
	if err != nil {
		t.Fatal(err)
	}
	want := []entry{
		{path: "/etc", dir: true},
		{path: "/etc/motd", whiteout: true},
		{path: "/var/log/.wh..opq", whiteout: true},
		{path: "/bin/sh"},
		{path: "/bin/busybox", size: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
