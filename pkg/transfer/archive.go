package transfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctrlite/ctr-lite/pkg/archive"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// tempStore is a content store in a new temporary directory; done
// removes it.
func tempStore() (*content.Store, func(), error) {
	dir, err := os.MkdirTemp("", "ctr-lite-copy-")
	if err != nil {
		return nil, nil, fmt.Errorf("temporary store: %w", err)
	}
	done := func() { os.RemoveAll(dir) }
	st, err := content.Open(dir)
	if err != nil {
		done()
		return nil, nil, err
	}
	return st, done, nil
}

// FromDockerArchive reads the one image of a docker-save tarball (or
// oci-archive), through a temporary store that pkg/archive imports it
// into, checking every blob; done removes the store.
func FromDockerArchive(ctx context.Context, file string) (Source, func(), error) {
	st, done, err := tempStore()
	if err != nil {
		return nil, nil, err
	}
	named, err := archive.Import(ctx, st, file)
	if err != nil {
		done()
		return nil, nil, err
	}
	if len(named) != 1 {
		done()
		return nil, nil, fmt.Errorf("archive %s holds %d images; copy takes one", file, len(named))
	}
	return &storeSource{st: st, name: named[0].Name, desc: &named[0].Target}, done, nil
}

// archiveTarget gathers the image in a temporary store and, on Close,
// has pkg/archive write it as a docker-archive.
type archiveTarget struct {
	storeTarget
	file string
}

// ToDockerArchive writes file (docker load, podman load and skopeo's
// docker-archive read it) with the image named name; done removes the
// temporary store.
func ToDockerArchive(file string, name reference.Reference) (Target, func(), error) {
	st, done, err := tempStore()
	if err != nil {
		return nil, nil, err
	}
	return &archiveTarget{storeTarget: storeTarget{st: st, name: name.String()}, file: file}, done, nil
}

func (a *archiveTarget) Close(ctx context.Context) error {
	tmp, err := os.CreateTemp(filepath.Dir(a.file), ".ctr-lite-archive-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", a.file, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := archive.Export(ctx, a.st, []string{a.name}, tmp, archive.ExportOptions{Format: "docker"}); err != nil {
		return fmt.Errorf("write %s: %w", a.file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", a.file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), a.file)
}
