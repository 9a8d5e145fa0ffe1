package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// optionsFile holds, in a container's directory, what its monitor needs
// to start it (again): the launch options of its `run`.
const optionsFile = "launch.json"

type saved struct {
	Image      string         `json:"image"`
	Platform   image.Platform `json:"platform"`
	Remove     bool           `json:"remove,omitempty"`
	Spec       spec.Options   `json:"spec"`
	Runtime    string         `json:"runtime,omitempty"`
	LogMaxSize int64          `json:"log_max_size,omitempty"`
	Ports      []network.Port `json:"ports,omitempty"`
	NetConfDir string         `json:"net_conf_dir,omitempty"`
}

// saveOptions writes opts for a later monitor. What depends on the
// caller's environment and directory (-e KEY, --env-file) is resolved now.
func saveOptions(dir string, opts Options) error {
	so := opts.Spec
	so.Env = slices.Clone(so.Env)
	for i, kv := range so.Env {
		if !strings.Contains(kv, "=") {
			if v, ok := os.LookupEnv(kv); ok {
				so.Env[i] = kv + "=" + v
			}
		}
	}
	so.EnvFiles = slices.Clone(so.EnvFiles)
	for i, f := range so.EnvFiles {
		if abs, err := filepath.Abs(f); err == nil {
			so.EnvFiles[i] = abs
		}
	}
	b, err := json.Marshal(saved{
		Image: opts.Image.String(), Platform: opts.Pull.Platform, Remove: opts.Remove,
		Spec: so, Runtime: opts.Runtime, LogMaxSize: opts.LogMaxSize,
		Ports: opts.Ports, NetConfDir: opts.NetConfDir,
	})
	if err != nil {
		return fmt.Errorf("save launch options: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, optionsFile), b, 0o600); err != nil {
		return fmt.Errorf("save launch options: %w", err)
	}
	return nil
}

// reopen takes the use of recorded container id and loads what start
// needs: its launch options, its image and the image's snapshots, which
// must be the ones it was created on (its upper layer is kept on them).
func reopen(ctx context.Context, st *content.Store, f image.Fetcher, cs *container.Store, id string) (*prepared, Options, error) {
	var opts Options
	b, err := os.ReadFile(filepath.Join(cs.Dir(id), optionsFile))
	if err != nil {
		return nil, opts, fmt.Errorf("start %s: launch options: %w", container.ShortID(id), err)
	}
	var sv saved
	if err := json.Unmarshal(b, &sv); err != nil {
		return nil, opts, fmt.Errorf("start %s: launch options: %w", container.ShortID(id), err)
	}
	ref, err := reference.Parse(sv.Image)
	if err != nil {
		return nil, opts, fmt.Errorf("start %s: %w", container.ShortID(id), err)
	}
	opts = Options{Image: ref, Remove: sv.Remove, Stdin: sv.Spec.Terminal, Spec: sv.Spec, Runtime: sv.Runtime,
		LogMaxSize: sv.LogMaxSize, Ports: sv.Ports, NetConfDir: sv.NetConfDir, Pull: image.PullOptions{Platform: sv.Platform}, Notice: func(string) {}}
	done, err := cs.Use(ctx, id)
	if err != nil {
		return nil, opts, err
	}
	p, err := load(ctx, st, f, cs, id, opts)
	if err != nil {
		done()
		return nil, opts, fmt.Errorf("start %s: %w", container.ShortID(id), err)
	}
	p.release = done
	return p, opts, nil
}

func load(ctx context.Context, st *content.Store, f image.Fetcher, cs *container.Store, id string, opts Options) (*prepared, error) {
	c, err := cs.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	res, release, err := prepareImage(ctx, st, f, opts)
	if err != nil {
		return nil, err
	}
	defer release()
	if !slices.Equal(chainIDs(res.Snapshots), c.Chains) {
		return nil, fmt.Errorf("image %s is no longer the one the container was created from", c.Image)
	}
	return &prepared{img: res.Image, c: c, layers: res.Snapshots.Dirs}, nil
}
